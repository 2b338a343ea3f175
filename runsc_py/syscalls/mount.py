"""mount(2) and umount2(2): changes to the caller's mount namespace, all in
the sentry's VFS (sentry/mounting.py), for a caller with CAP_SYS_ADMIN.

The arguments are read as Linux reads them (fs/namespace.c: the strings
and the data page first, then the target's walk, then the checks), so a
bad pointer is EFAULT and a missing target ENOENT before anything else.
"""
from __future__ import annotations

import errno
import os

from runsc_py.sentry import mounting
from runsc_py.sentry.credentials import CAP_SYS_ADMIN
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.mountns import split
from runsc_py.syscalls.context import as_int

PAGE_SIZE = 4096


def mount(ctx, source, target, fstype, flags, data):
    flags = as_int(flags) & 0xFFFFFFFF
    if flags & mounting.MS_MGC_MSK == mounting.MS_MGC_VAL:   # the old magic: ignored
        flags &= ~mounting.MS_MGC_MSK
    fs_type = _string(ctx, fstype)
    dev_name = _string(ctx, source)
    options = _string(ctx, data, PAGE_SIZE) if _takes_data(flags) else None
    vfs, cwd = ctx.kernel.vfs, ctx.process.fs.cwd
    where = vfs.resolve(cwd, ctx.path(target))
    if flags & mounting.MS_NOUSER:
        raise SyscallError(errno.EINVAL)
    if not ctx.process.creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(errno.EPERM)

    def source_resolved():
        if dev_name is None:
            raise SyscallError(errno.EFAULT)
        return vfs.resolve(cwd, dev_name)

    mounting.mount(vfs, where, flags, fs_type, dev_name, options, source_resolved)
    ctx.kernel.answer_cache.forget_templates()   # no replayed open names an old mount's file
    return 0


def umount2(ctx, target, flags):
    flags = as_int(flags)
    if flags & ~mounting.UMOUNT_FLAGS:
        raise SyscallError(errno.EINVAL)
    vfs = ctx.kernel.vfs
    where = vfs.resolve(ctx.process.fs.cwd, ctx.path(target),
                        follow=not flags & mounting.UMOUNT_NOFOLLOW)
    if not ctx.process.creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(errno.EPERM)
    mounting.umount(vfs, where, flags, lambda mount: _busy(ctx.kernel, mount))
    ctx.kernel.answer_cache.forget_templates()   # no replayed open names an old mount's file
    return 0


def _busy(kernel, mount) -> bool:
    """Whether a file of the sandbox is open on `mount`, or a process of its
    namespace works or is rooted in it (Linux's propagate_mount_busy)."""
    ns = kernel.vfs.ns
    if any(file.mount is mount for file in kernel.vfs.open_files()):
        return True
    for proc in kernel.tasks.processes.values():
        if (proc.mntns or kernel.vfs.initial) is ns and any(
                ns.mount_of(split(path))[0] is mount for path in (proc.fs.cwd, proc.fs.root)):
            return True
    return False


def _takes_data(flags: int) -> bool:
    """Whether the data page is read: only a new mount or a remount uses it."""
    return not flags & (mounting.MS_BIND | mounting.MS_MOVE | mounting.PROPAGATION_MASK) \
        or bool(flags & mounting.MS_REMOUNT)


def _string(ctx, addr, limit: int = PAGE_SIZE) -> str | None:
    """A string argument that may be NULL; one longer than a page is cut there."""
    if not as_int(addr):
        return None
    try:
        return os.fsdecode(ctx.cstring(addr, limit))
    except SyscallError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        return os.fsdecode(ctx.read(addr, limit - 1))
