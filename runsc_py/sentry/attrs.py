"""Changing a file's attributes: chmod, chown, utimes, truncate and xattrs.

Each change names its file by path (resolved by the VFS) or by an open
file (the OpenFile's mount and node), checks the mount (EROFS) and the
caller's rights (sentry/permissions.py), and asks the filesystem to act.
Files with no mount (pipes, memfds, eventfds) are anonymous host objects
the workload owns: their changes run natively. Files the caller of
runsc-py passed in (its stdio) are the host's: the sandbox may not change them.
"""
from __future__ import annotations

import errno
import os
import stat as statmod
import time

from runsc_py.platform import NATIVE
from runsc_py.sentry import inotify, permissions
from runsc_py.sentry.credentials import CAP_SYS_ADMIN, XATTR_NAME_CAPS, as_read_caps, check_caps_xattr
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import OpenFile
from runsc_py.sentry.inotify import InotifyTable
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.vfs import SetAttr

UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


class Target:
    """The file a change applies to: its mount, path within it, node and attributes."""

    __slots__ = ("mount", "rel", "node", "stat", "events")

    def __init__(self, mount, rel: str, node, stat: Stat, events: InotifyTable):
        self.mount, self.rel, self.node, self.stat = mount, rel, node, stat
        self.events = events  # whom to tell of the change


def by_path(vfs, base: str, path: str, follow: bool) -> Target:
    res = vfs.resolve(base, path, follow=follow)
    return Target(res.mount, res.rel, res.node, res.stat, vfs.inotify)


def by_file(file: OpenFile, stat: Stat, vfs):
    """The Target of an open file, or NATIVE for an anonymous host object."""
    if file.mount is None:
        if file.kind == "host":
            raise SyscallError(errno.EPERM, "the caller's own files are not the sandbox's")
        return NATIVE
    return Target(file.mount, file.rel, file.node, stat, vfs.inotify)


def _apply(target: Target, attrs: SetAttr) -> None:
    if target.mount.readonly:
        raise SyscallError(errno.EROFS)
    # the host sees the sentry's truncate of the file's inode: not a native write
    with target.events.quiet(target.mount.mount_id, target.rel):
        target.mount.fs.setattr(target.rel, attrs, target.node)
    _changed(target, _event_of(attrs))


def _event_of(attrs: SetAttr) -> int:
    """The inotify event of a change, as Linux's fsnotify_change() picks it."""
    mask = inotify.IN_ATTRIB if attrs.mode is not None or attrs.uid is not None \
        or attrs.gid is not None else 0
    if attrs.size is not None:
        mask |= inotify.IN_MODIFY
    if attrs.atime_ns is not None and attrs.mtime_ns is not None:
        mask |= inotify.IN_ATTRIB
    elif attrs.atime_ns is not None:
        mask |= inotify.IN_ACCESS   # utimensat with the modification time omitted
    elif attrs.mtime_ns is not None:
        mask |= inotify.IN_MODIFY
    return mask


def _changed(target: Target, mask: int) -> None:
    target.events.event(target.mount.mount_id, target.rel, mask, statmod.S_ISDIR(target.stat.mode))


def chmod(creds, target: Target, mode: int) -> None:
    if target.mount.readonly:
        raise SyscallError(errno.EROFS)
    mode = permissions.check_chmod(creds, target.stat, mode & 0o7777)
    _apply(target, SetAttr(mode=mode))


def chown(creds, target: Target, uid: int, gid: int) -> None:
    uid = None if uid in (-1, 0xFFFFFFFF) else uid & 0xFFFFFFFF  # any other u32 is an id
    gid = None if gid in (-1, 0xFFFFFFFF) else gid & 0xFFFFFFFF
    if target.mount.readonly:
        raise SyscallError(errno.EROFS)
    permissions.check_chown(creds, target.stat, uid, gid)
    attrs = SetAttr(uid=uid, gid=gid)
    mode = target.stat.mode
    if (uid is not None or gid is not None) and not statmod.S_ISDIR(mode):
        # Linux clears set-user-ID, and set-group-ID when group-executable, on chown
        keep = ~statmod.S_ISUID & ~(statmod.S_ISGID if mode & statmod.S_IXGRP else 0)
        if mode & 0o7777 & ~keep:
            attrs.mode = mode & 0o7777 & keep
    _apply(target, attrs)
    if (uid is not None or gid is not None) and not statmod.S_ISDIR(mode):
        _drop_file_caps(target)


def chown_anonymous(creds, host_fd: int, stat: Stat, uid: int, gid: int) -> None:
    """chown of an anonymous host object (a pipe, a memfd, a socket) the caller
    named by path "" and AT_EMPTY_PATH: the sentry changes its own copy of the
    fd with the ids it read. The kernel never runs such a call: it would
    re-read the path, which another thread can have changed from "" since."""
    uid = None if uid in (-1, 0xFFFFFFFF) else uid & 0xFFFFFFFF
    gid = None if gid in (-1, 0xFFFFFFFF) else gid & 0xFFFFFFFF
    permissions.check_chown(creds, stat, uid, gid)
    os.fchown(host_fd, -1 if uid is None else uid, -1 if gid is None else gid)


def utimes_anonymous(creds, host_fd: int, stat: Stat,
                     times: tuple[tuple[int, int], tuple[int, int]] | None) -> None:
    """utimensat/futimesat of an anonymous host object by path "" (see chown_anonymous)."""
    now = time.time_ns()
    times = _checked_times(times)
    if times is None:
        return
    permissions.check_utimes(creds, stat, _explicit(times))
    st = os.fstat(host_fd)
    atime, mtime = (old if nsec == UTIME_OMIT else now if nsec == UTIME_NOW
                    else _clamp_ns(sec * 10**9 + nsec)
                    for (sec, nsec), old in zip(times, (st.st_atime_ns, st.st_mtime_ns)))
    os.utime(host_fd, ns=(atime, mtime))


def _checked_times(times):
    """utimensat's times, EINVAL-checked; None when both are UTIME_OMIT (nothing to do)."""
    if times is None:
        times = ((0, UTIME_NOW), (0, UTIME_NOW))
    for _sec, nsec in times:
        if not (0 <= nsec < 10**9 or nsec in (UTIME_NOW, UTIME_OMIT)):
            raise SyscallError(errno.EINVAL)
    if all(nsec == UTIME_OMIT for _s, nsec in times):
        return None
    return times


def _explicit(times) -> bool:
    """Whether a time is given (not now, not omitted): only the owner may."""
    return any(nsec not in (UTIME_NOW, UTIME_OMIT) for _s, nsec in times)


def _drop_file_caps(target: Target) -> None:
    """A chown drops the file's capabilities as it drops set-uid (cap_inode_killpriv)."""
    try:
        target.mount.fs.removexattr(target.rel, XATTR_NAME_CAPS, target.node)
    except SyscallError:   # it had none, or its filesystem keeps none (the host's own does it)
        pass


def utimes(creds, target: Target, times: tuple[tuple[int, int], tuple[int, int]] | None) -> None:
    """times: ((sec, nsec) atime, (sec, nsec) mtime) with UTIME_NOW/OMIT, or None for now."""
    now = time.time_ns()
    times = _checked_times(times)
    if times is None:
        return
    if target.mount.readonly:
        raise SyscallError(errno.EROFS)
    permissions.check_utimes(creds, target.stat, _explicit(times))
    atime, mtime = (None if nsec == UTIME_OMIT else now if nsec == UTIME_NOW
                    else _clamp_ns(sec * 10**9 + nsec) for sec, nsec in times)
    _apply(target, SetAttr(atime_ns=atime, mtime_ns=mtime))


def _clamp_ns(ns: int) -> int:
    """A time as the host can store it (64-bit nanoseconds), as Linux clamps to a filesystem's range."""
    return max(-(1 << 63), min(ns, (1 << 63) - 1))


def truncate(creds, target: Target, length: int) -> None:
    if length < 0:
        raise SyscallError(errno.EINVAL)
    if statmod.S_ISDIR(target.stat.mode):
        raise SyscallError(errno.EISDIR)
    if not statmod.S_ISREG(target.stat.mode):
        raise SyscallError(errno.EINVAL)
    if target.mount.readonly:
        raise SyscallError(errno.EROFS)
    permissions.check(creds, target.stat, permissions.W_OK)
    _apply(target, SetAttr(size=length))


# -- extended attributes -------------------------------------------------------

XATTR_SIZE_MAX = 65536


def getxattr(creds, target: Target, name: str) -> bytes:
    _xattr_permission(creds, target.stat, name, write=False)
    value = target.mount.fs.getxattr(target.rel, name, target.node)
    return as_read_caps(value) if name == XATTR_NAME_CAPS else value


def setxattr(creds, target: Target, name: str, value: bytes, flags: int) -> None:
    if flags & ~3:
        raise SyscallError(errno.EINVAL)
    if target.mount.readonly:
        raise SyscallError(errno.EROFS)
    _xattr_permission(creds, target.stat, name, write=True)
    _check_security_xattr(creds, name, value)
    target.mount.fs.setxattr(target.rel, name, value, flags, target.node)
    _changed(target, inotify.IN_ATTRIB)


def _xattr_permission(creds, st, name: str, write: bool) -> None:
    """Linux's xattr_permission(): security.* and system.* are the
    filesystem's to judge; trusted.* needs CAP_SYS_ADMIN (hidden, ENODATA,
    for reading); user.* only on regular files and directories (a sticky
    directory's only by its owner); then read or write permission on the
    file, for its owner too."""
    if name.startswith(("security.", "system.")):
        return
    if name.startswith("trusted."):
        if not creds.capable(CAP_SYS_ADMIN):
            raise SyscallError(errno.EPERM if write else errno.ENODATA)
        return
    if name.startswith("user."):
        if not (statmod.S_ISREG(st.mode) or statmod.S_ISDIR(st.mode)):
            raise SyscallError(errno.EPERM if write else errno.ENODATA)
        if write and statmod.S_ISDIR(st.mode) and st.mode & statmod.S_ISVTX \
                and not permissions.is_owner(creds, st):
            raise SyscallError(errno.EPERM)
    permissions.check(creds, st, permissions.W_OK if write else permissions.R_OK)


def _check_security_xattr(creds, name: str, value: bytes | None) -> None:
    """security.*, as commoncap guards it with no security module: file
    capabilities need CAP_SETFCAP (and a valid value), the rest CAP_SYS_ADMIN."""
    if name == XATTR_NAME_CAPS:
        check_caps_xattr(creds, value)
    elif name.startswith("security.") and not creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(errno.EPERM)


def listxattr(creds, target: Target) -> bytes:
    """The names, but trusted.* for a caller without CAP_SYS_ADMIN (as tmpfs
    and the disk filesystems list them)."""
    names = target.mount.fs.listxattr(target.rel, target.node)
    hidden = not creds.capable(CAP_SYS_ADMIN)
    return b"".join(os.fsencode(n) + b"\0" for n in names
                    if not (hidden and n.startswith("trusted.")))


def removexattr(creds, target: Target, name: str) -> None:
    if target.mount.readonly:
        raise SyscallError(errno.EROFS)
    _xattr_permission(creds, target.stat, name, write=True)
    _check_security_xattr(creds, name, None)
    target.mount.fs.removexattr(target.rel, name, target.node)
    _changed(target, inotify.IN_ATTRIB)
