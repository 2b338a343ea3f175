"""Syscalls about the system as the sandbox sees it: uname, host name, prctl."""
from __future__ import annotations

import errno
import functools
import platform as host_platform

from runsc_py.platform import NATIVE
from runsc_py.sentry.errors import SyscallError
from runsc_py.syscalls.context import as_int

UTS_FIELD = 65
HOST_NAME_MAX = 64
# What the sandbox reports as its kernel: the host's release is not shown.
SANDBOX_RELEASE = b"6.1.0-runsc-py"
SANDBOX_VERSION = b"#1 SMP runsc-py"

PR_SET_NAME, PR_GET_NAME = 15, 16
# prctl options that only concern the caller's own host thread or
# restrict it further; the host answers them.
NATIVE_PRCTLS = {
    1, 2, 3, 4,      # PR_SET/GET_PDEATHSIG, PR_GET/SET_DUMPABLE
    7, 8,            # PR_GET/SET_KEEPCAPS
    21, 22,          # PR_GET/SET_SECCOMP (more filters only restrict)
    23, 24,          # PR_CAPBSET_READ/DROP
    29, 30,          # PR_SET/GET_TIMERSLACK
    36, 37,          # PR_SET/GET_CHILD_SUBREAPER
    38, 39,          # PR_SET/GET_NO_NEW_PRIVS
    40, 41, 42,      # PR_GET_TID_ADDRESS, PR_SET/GET_THP_DISABLE
    0x53564D41,      # PR_SET_VMA (naming anonymous memory)
}


def uname(ctx, buf):
    ctx.write(buf, _utsname(ctx.kernel.hostname, ctx.kernel.domainname))
    return 0


@functools.lru_cache(maxsize=8)
def _utsname(hostname: str, domainname: str) -> bytes:
    """struct utsname: six NUL-padded 65-byte fields (made once per name pair)."""
    fields = [b"Linux", hostname.encode(), SANDBOX_RELEASE, SANDBOX_VERSION,
              host_platform.machine().encode(), domainname.encode()]
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
    if ctx.process.creds.euid != 0:
        raise SyscallError(errno.EPERM)
    return ctx.read(addr, length).split(b"\0", 1)[0].decode("utf-8", "replace")


def prctl(ctx, option, arg2, arg3, arg4, arg5):
    option = as_int(option)
    if option == PR_SET_NAME:
        ctx.process.comm = ctx.cstring(arg2, 4096)[:15]
        return 0
    if option == PR_GET_NAME:
        ctx.write(arg2, ctx.process.comm[:15].ljust(16, b"\0"))
        return 0
    if option in NATIVE_PRCTLS:
        return NATIVE
    raise SyscallError(errno.EINVAL)
