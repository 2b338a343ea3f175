"""Syscalls about credentials: the set*id family, groups and capabilities.

Thin shims over sentry/credentials.py. Every change is republished to the C
fast path (`Kernel.republish`), which answers getuid & co.
"""
from __future__ import annotations

import errno
import struct

from runsc_py.sentry.credentials import NGROUPS_MAX
from runsc_py.sentry.errors import SyscallError
from runsc_py.syscalls.context import as_int

LINUX_CAPABILITY_VERSION_1 = 0x19980330   # one 32-bit word per set
LINUX_CAPABILITY_VERSION_2 = 0x20071026   # deprecated; two words
LINUX_CAPABILITY_VERSION_3 = 0x20080522   # two words
CAP_WORDS = {LINUX_CAPABILITY_VERSION_1: 1, LINUX_CAPABILITY_VERSION_2: 2,
             LINUX_CAPABILITY_VERSION_3: 2}


def _id(v: int) -> int:
    return v & 0xFFFFFFFF


def _change(ctx, what: str, *args):
    real_uid = ctx.process.creds.uid
    result = ctx.change_creds(lambda creds: getattr(creds, what)(*args))
    if ctx.process.creds.uid != real_uid:
        ctx.kernel.real_uid_changed(ctx.task)
    return 0 if result is None else result


def setuid(ctx, uid):
    return _change(ctx, "setuid", _id(uid))


def setgid(ctx, gid):
    return _change(ctx, "setgid", _id(gid))


def setreuid(ctx, ruid, euid):
    return _change(ctx, "setreuid", _id(ruid), _id(euid))


def setregid(ctx, rgid, egid):
    return _change(ctx, "setregid", _id(rgid), _id(egid))


def setresuid(ctx, ruid, euid, suid):
    return _change(ctx, "setresuid", _id(ruid), _id(euid), _id(suid))


def setresgid(ctx, rgid, egid, sgid):
    return _change(ctx, "setresgid", _id(rgid), _id(egid), _id(sgid))


def setfsuid(ctx, fsuid):
    return _change(ctx, "setfsuid", _id(fsuid))


def setfsgid(ctx, fsgid):
    return _change(ctx, "setfsgid", _id(fsgid))


def getresuid(ctx, ruid, euid, suid):
    c = ctx.process.creds
    for addr, value in ((ruid, c.uid), (euid, c.euid), (suid, c.suid)):
        ctx.write(addr, struct.pack("<I", value))
    return 0


def getresgid(ctx, rgid, egid, sgid):
    c = ctx.process.creds
    for addr, value in ((rgid, c.gid), (egid, c.egid), (sgid, c.sgid)):
        ctx.write(addr, struct.pack("<I", value))
    return 0


def setgroups(ctx, size, addr):
    size = as_int(size)
    if not 0 <= size <= NGROUPS_MAX:
        raise SyscallError(errno.EINVAL)
    groups = struct.unpack(f"<{size}I", ctx.read(addr, 4 * size)) if size else ()
    return _change(ctx, "setgroups", groups)


def capget(ctx, header, data):
    words = _cap_header(ctx, header, data)
    if words is None:
        return 0
    pid = struct.unpack("<i", ctx.read(header + 4, 4))[0]
    c = _cap_target(ctx, pid)
    out = b"".join(struct.pack("<III", *(s >> (32 * i) & 0xFFFFFFFF for s in
                                         (c.cap_effective, c.cap_permitted, c.cap_inheritable)))
                   for i in range(words))
    ctx.write(data, out)
    return 0


def capset(ctx, header, data):
    words = _cap_header(ctx, header, data or 1)  # an unknown version is EINVAL even with NULL data
    if data == 0:
        raise SyscallError(errno.EFAULT)
    pid = struct.unpack("<i", ctx.read(header + 4, 4))[0]
    if pid not in (0, ctx.task.vtid):   # only the calling thread's own
        raise SyscallError(errno.EPERM)
    raw = struct.unpack(f"<{3 * words}I", ctx.read(data, 12 * words))
    eff, perm, inh = (sum(raw[3 * i + k] << (32 * i) for i in range(words)) for k in range(3))
    if words == 1:  # a v1 caller cannot name the upper capabilities: they are kept
        c = ctx.process.creds
        upper = ~0xFFFFFFFF
        eff, perm, inh = (eff | c.cap_effective & upper, perm | c.cap_permitted & upper,
                          inh | c.cap_inheritable & upper)
    return _change(ctx, "capset", eff, perm, inh)


def _cap_header(ctx, header: int, data: int) -> int | None:
    """Words per set for the header's version; an unknown one is answered with v3 (EINVAL).

    None means "only the version was asked" (unknown version, NULL data).
    """
    (version,) = struct.unpack("<I", ctx.read(header, 4))
    words = CAP_WORDS.get(version)
    if words is None:
        ctx.write(header, struct.pack("<I", LINUX_CAPABILITY_VERSION_3))
        if data == 0:
            return None
        raise SyscallError(errno.EINVAL)
    if data == 0:
        return None
    return words


def _cap_target(ctx, pid: int):
    """The credentials of the thread capget names (0: the caller)."""
    if pid < 0:
        raise SyscallError(errno.EINVAL)
    if pid == 0:
        return ctx.process.creds
    task = ctx.kernel.tasks.by_vtid(pid)
    if task is None:
        raise SyscallError(errno.ESRCH)
    return task.creds
