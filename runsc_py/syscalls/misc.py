"""Syscalls about the system as the sandbox sees it: uname, host name, sysinfo, prctl."""
from __future__ import annotations

import errno
import functools
import os
import struct

from runsc_py.platform import NATIVE
from runsc_py.sentry.credentials import CAP_SYS_ADMIN, cap_valid
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.sysinfo import sysinfo_bytes
from runsc_py.syscalls.context import as_int
from runsc_py.syscalls.pointers import CONFINED, DATA

UTS_FIELD = 65
HOST_NAME_MAX = 64
# What the sandbox reports as its kernel: the host's release is not shown.
SANDBOX_RELEASE = b"6.1.0-runsc-py"
SANDBOX_VERSION = b"#1 SMP runsc-py"

PR_SET_PDEATHSIG, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS = 1, 7, 8
PR_SET_NAME, PR_GET_NAME = 15, 16
PR_CAPBSET_READ, PR_CAPBSET_DROP = 23, 24
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_LOWER, PR_CAP_AMBIENT_CLEAR_ALL = 1, 2, 3, 4
# prctl options that only concern the caller's own host thread or
# restrict it further; the host answers them. The value is what the kernel
# reads or writes through the option's pointer (syscalls/table.py's classes).
NATIVE_PRCTLS = {
    2: DATA,          # PR_GET_PDEATHSIG
    3: None, 4: None,  # PR_GET/SET_DUMPABLE
    21: None,         # PR_GET_SECCOMP
    22: CONFINED,     # PR_SET_SECCOMP: mode 2's filter only restricts the caller (see process.seccomp)
    29: None, 30: None,  # PR_SET/GET_TIMERSLACK
    40: DATA,         # PR_GET_TID_ADDRESS
    41: None, 42: None,  # PR_SET/GET_THP_DISABLE
    0x53564D41: DATA,  # PR_SET_VMA (naming the caller's own anonymous memory)
}
# Options the sentry records and then lets the host run too (registers only).
RECORDED_PRCTLS = {PR_SET_PDEATHSIG: None, PR_SET_CHILD_SUBREAPER: None, PR_SET_NO_NEW_PRIVS: None}
# PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER and PR_SET_NO_NEW_PRIVS are
# recorded by the sentry and also run on the host: the host's reparenting,
# death signal and exec rules then agree with what the sentry reports.

def uname(ctx, buf):
    ctx.write(buf, _utsname(ctx.kernel.hostname, ctx.kernel.domainname))
    return 0


@functools.lru_cache(maxsize=8)
def _utsname(hostname: str, domainname: str) -> bytes:
    """struct utsname: six NUL-padded 65-byte fields (made once per name pair)."""
    fields = [b"Linux", hostname.encode(), SANDBOX_RELEASE, SANDBOX_VERSION,
              os.uname().machine.encode(), domainname.encode()]
    return b"".join(f[: UTS_FIELD - 1].ljust(UTS_FIELD, b"\0") for f in fields)


def sethostname(ctx, name, length):
    ctx.kernel.hostname = _uts_name(ctx, name, length)
    return 0


def setdomainname(ctx, name, length):
    ctx.kernel.domainname = _uts_name(ctx, name, length)
    return 0


def _uts_name(ctx, addr: int, length: int) -> str:
    length = as_int(length)
    if not 0 <= length <= HOST_NAME_MAX:
        raise SyscallError(errno.EINVAL)
    if not ctx.process.creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(errno.EPERM)
    return ctx.read(addr, length).split(b"\0", 1)[0].decode("utf-8", "replace")


def prctl(ctx, option, arg2, arg3, arg4, arg5):
    option = as_int(option)
    handler = PRCTLS.get(option)
    if handler is not None:
        return handler(ctx, arg2, arg3, arg4, arg5)
    if option in NATIVE_PRCTLS:
        return NATIVE
    raise SyscallError(errno.EINVAL)


def _set_name(ctx, name, *_):
    ctx.task.comm = ctx.cstring(name, 4096)[:15]   # the calling thread's
    return 0


def _get_name(ctx, buf, *_):
    ctx.write(buf, ctx.task.comm[:15].ljust(16, b"\0"))
    return 0


def _set_pdeathsig(ctx, sig, *_):
    if not 0 <= sig <= 64:
        raise SyscallError(errno.EINVAL)
    return NATIVE


def _get_keepcaps(ctx, *_):
    return int(ctx.process.creds.keep_caps)


def _set_keepcaps(ctx, value, *_):
    if value > 1:
        raise SyscallError(errno.EINVAL)
    ctx.change_creds(lambda creds: setattr(creds, "keep_caps", bool(value)))
    return 0


def _capbset_read(ctx, cap, *_):
    if not cap_valid(cap):
        raise SyscallError(errno.EINVAL)
    return ctx.process.creds.cap_bounding >> cap & 1


def _capbset_drop(ctx, cap, *_):
    ctx.change_creds(lambda creds: creds.drop_bounding(cap))
    return 0


def _set_child_subreaper(ctx, value, *_):
    ctx.process.subreaper = bool(value)
    return NATIVE


def _get_child_subreaper(ctx, addr, *_):
    ctx.write(addr, struct.pack("<i", int(ctx.process.subreaper)))
    return 0


def _set_no_new_privs(ctx, value, arg3, arg4, arg5):
    if value != 1 or arg3 or arg4 or arg5:
        raise SyscallError(errno.EINVAL)
    ctx.change_creds(lambda creds: setattr(creds, "no_new_privs", True))
    return NATIVE  # the host's flag too: it lets the workload stack its own seccomp filter


def _get_no_new_privs(ctx, *args):
    if any(args):
        raise SyscallError(errno.EINVAL)
    return int(ctx.process.creds.no_new_privs)


def _cap_ambient(ctx, op, cap, arg4, arg5):
    if arg4 or arg5 or (op == PR_CAP_AMBIENT_CLEAR_ALL and cap):
        raise SyscallError(errno.EINVAL)
    if op == PR_CAP_AMBIENT_CLEAR_ALL:
        ctx.change_creds(lambda creds: setattr(creds, "cap_ambient", 0))
        return 0
    if not cap_valid(cap):
        raise SyscallError(errno.EINVAL)
    if op == PR_CAP_AMBIENT_IS_SET:
        return ctx.process.creds.cap_ambient >> cap & 1
    if op == PR_CAP_AMBIENT_RAISE:
        ctx.change_creds(lambda creds: creds.raise_ambient(cap))
        return 0
    if op == PR_CAP_AMBIENT_LOWER:
        ctx.change_creds(lambda creds: setattr(creds, "cap_ambient", creds.cap_ambient & ~(1 << cap)))
        return 0
    raise SyscallError(errno.EINVAL)


PRCTLS = {
    PR_SET_PDEATHSIG: _set_pdeathsig,
    PR_GET_KEEPCAPS: _get_keepcaps,
    PR_SET_KEEPCAPS: _set_keepcaps,
    PR_SET_NAME: _set_name,
    PR_GET_NAME: _get_name,
    PR_CAPBSET_READ: _capbset_read,
    PR_CAPBSET_DROP: _capbset_drop,
    PR_SET_CHILD_SUBREAPER: _set_child_subreaper,
    PR_GET_CHILD_SUBREAPER: _get_child_subreaper,
    PR_SET_NO_NEW_PRIVS: _set_no_new_privs,
    PR_GET_NO_NEW_PRIVS: _get_no_new_privs,
    PR_CAP_AMBIENT: _cap_ambient,
}


def sysinfo(ctx, buf):
    """struct sysinfo as the sandbox sees it (sentry/sysinfo.py)."""
    ctx.write(buf, sysinfo_bytes(ctx.kernel))
    return 0
