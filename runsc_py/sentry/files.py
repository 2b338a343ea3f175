"""Opening files by path: Linux's open(2) rules over the VFS (fs/open.c's part)."""
from __future__ import annotations

import errno
import os
import stat as statmod

from runsc_py.sentry import inotify, permissions
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import OpenFile
from runsc_py.sentry.vfs import MAXSYMLINKS, NO_SCOPE, Scope

ACCESS_MODE = os.O_RDONLY | os.O_WRONLY | os.O_RDWR
WRITE_INTENT = os.O_WRONLY | os.O_RDWR | os.O_TRUNC
# flags the host open keeps; the sentry handles creation, following, cloexec
HOST_FLAGS = (ACCESS_MODE | os.O_APPEND | os.O_NONBLOCK | os.O_DIRECTORY | os.O_PATH
              | os.O_NOATIME | os.O_DSYNC | os.O_SYNC | os.O_DIRECT | os.O_LARGEFILE | os.O_TRUNC)
# the flags an O_PATH open keeps (fs/open.c); openat2 refuses any other with it
O_PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
O_PATH_STATUS = O_PATH_FLAGS & ~os.O_CLOEXEC  # what F_GETFL and fdinfo show of them
# what a caller asks of a file's mode by its access mode
# (access mode 3 opens for neither, an fd for ioctls, but asks both: Linux's ACC_MODE)
WANT = {os.O_RDONLY: permissions.R_OK, os.O_WRONLY: permissions.W_OK,
        os.O_RDWR: permissions.R_OK | permissions.W_OK,
        ACCESS_MODE: permissions.R_OK | permissions.W_OK}


def open_path(vfs, creds, umask: int, base: str, path: str, flags: int,
              mode: int = 0, scope: Scope = NO_SCOPE) -> tuple[OpenFile, int]:
    """Resolve (and with O_CREAT make) `path` and open it for a caller with
    `creds` and `umask`, within openat2's `scope`; returns (OpenFile, host fd),
    the host fd None for O_PATH (its guest fd stays unbacked: fdtable.py)."""
    mode &= ~umask & 0o7777
    if flags & os.O_PATH:  # O_PATH beats everything else (fs/open.c's build_open_how)
        flags &= O_PATH_FLAGS
    if flags & os.O_TMPFILE == os.O_TMPFILE:
        return _open_tmpfile(vfs, creds, base, path, flags, mode, scope)
    if flags & os.O_CREAT:
        if flags & os.O_DIRECTORY:
            raise SyscallError(errno.EINVAL)
        made = _create(vfs, creds, base, path, flags, mode, 0, scope)
        if made is not None:
            vfs.inotify.event(made[0].mount.mount_id, made[0].rel, inotify.IN_CREATE)
            return _announce(vfs, made)
    file, fd, truncated = _open_existing(vfs, creds, base, path, flags, scope)
    opened = _announce(vfs, (file, fd))
    if truncated:  # Linux truncates once the file is open, after IN_OPEN
        vfs.inotify.event(file.mount.mount_id, file.rel, inotify.IN_MODIFY)
    return opened


def _announce(vfs, opened: tuple[OpenFile, int]) -> tuple[OpenFile, int | None]:
    file, fd = opened
    if file.flags & os.O_PATH:  # an O_PATH file is not installed: its guest fd is unbacked
        _close(fd if fd >= 0 else None)  # (fdtable.py); the sentry answers by its path
        return file, None
    vfs.inotify.event(file.mount.mount_id, file.rel, inotify.IN_OPEN, file.kind == "dir")
    if file.kind == "file":  # the inode its reads and writes will reach, if it is watched
        vfs.inotify.opened(file, fd)
    return opened


def o_path_stand_in() -> int:
    """A host fd for an O_PATH guest fd that must replace a file already at its
    number (dup2 onto an open fd: nothing can empty a workload's slot but its
    own close). Opened with access mode 3, neither for reading nor writing, so
    the host answers read, write and their kin with EBADF as for O_PATH; lseek,
    mmap (EACCES), fsync and poll still see a file."""
    memfd = os.memfd_create("o_path", os.MFD_CLOEXEC)
    try:
        return os.open(f"/proc/self/fd/{memfd}", os.O_ACCMODE | os.O_CLOEXEC)
    finally:
        os.close(memfd)


def listed(vfs, file: OpenFile) -> bool:
    """A directory was read (getdents64): IN_ACCESS, as Linux's iterate_dir
    raises it, and its access time (file_accessed: not on a read-only mount
    nor through O_NOATIME). True if an attribute changed."""
    if file.mount is None:
        return False
    vfs.inotify.event(file.mount.mount_id, file.rel, inotify.IN_ACCESS, True)
    if file.mount.readonly or file.flags & os.O_NOATIME:
        return False
    return file.mount.fs.listed(file.rel)


def closed(vfs, file: OpenFile) -> None:
    """A guest fd of `file` was closed: IN_CLOSE_WRITE or IN_CLOSE_NOWRITE."""
    if file.mount is not None and not file.flags & os.O_PATH:
        mask = inotify.IN_CLOSE_WRITE if file.flags & (os.O_WRONLY | os.O_RDWR) else inotify.IN_CLOSE_NOWRITE
        vfs.inotify.event(file.mount.mount_id, file.rel, mask, file.kind == "dir",
                          unlinked=file.unlinked)


def _open_existing(vfs, creds, base: str, path: str, flags: int,
                   scope: Scope) -> tuple[OpenFile, int, bool]:
    """Open a file that exists; returns (OpenFile, host fd, whether O_TRUNC truncated it)."""
    follow = not flags & os.O_NOFOLLOW
    o_path = bool(flags & os.O_PATH)
    writes = bool(flags & WRITE_INTENT) and not o_path
    # Open in the same walk when nothing can refuse it after the fact; a
    # write (which may truncate) or a caller without CAP_DAC_OVERRIDE is
    # checked before the filesystem opens anything.
    at_once = not writes and (o_path or creds.capable(permissions.CAP_DAC_OVERRIDE))
    res = vfs.resolve(base, path, follow=follow, open_flags=_host_flags(flags) if at_once else -1,
                      scope=scope)
    try:
        if res.target is not None:  # an unfollowed symlink: only O_PATH opens it
            if o_path:
                return OpenFile("file", res.path, flags, res.mount, res.rel, res.node), -1, False
            raise SyscallError(errno.ELOOP)
        kind = _check_open(res, flags, creds, writes)
        if not at_once:
            # a truncate here is the open's, raised after IN_OPEN, not a native write
            with vfs.inotify.quiet(res.mount.mount_id, res.rel) as opened_as:
                opened = res.mount.fs.lookup(res.rel, _host_flags(flags))
                opened_as(opened.fd)
            res.fd = opened.fd
            if res.node is None:  # a file that exists only opened (a written /proc/sys value)
                res.node = opened.node
        truncated = bool(flags & os.O_TRUNC) and not o_path and statmod.S_ISREG(res.stat.mode)
        return (*_opened(res, flags, kind), truncated)
    except BaseException:
        _close(res.fd)
        raise


def _check_open(res, flags: int, creds, writes: bool) -> str:
    """may_open(): the file's type against the flags, the mount, the mode bits."""
    is_dir = statmod.S_ISDIR(res.stat.mode)
    if flags & os.O_PATH:
        if flags & os.O_DIRECTORY and not is_dir:
            raise SyscallError(errno.ENOTDIR)
        return "dir" if is_dir else "file"
    if is_dir and (flags & WRITE_INTENT or flags & os.O_CREAT):
        raise SyscallError(errno.EISDIR)
    if flags & os.O_DIRECTORY and not is_dir:
        raise SyscallError(errno.ENOTDIR)
    if statmod.S_ISSOCK(res.stat.mode):
        raise SyscallError(errno.ENXIO)
    is_dev = statmod.S_ISCHR(res.stat.mode) or statmod.S_ISBLK(res.stat.mode)
    if writes and res.mount.readonly and not is_dev:
        raise SyscallError(errno.EROFS)
    want = WANT[flags & ACCESS_MODE] | (permissions.W_OK if flags & os.O_TRUNC else 0)
    if not res.mount.fs.permission(res.rel, res.stat, creds, want):
        raise SyscallError(errno.EACCES)
    if is_dir and flags & os.O_DIRECT:  # no directory can do direct I/O (do_dentry_open)
        raise SyscallError(errno.EINVAL)
    return "dir" if is_dir else "device" if is_dev else "file"


def _create(vfs, creds, base: str, path: str, flags: int, mode: int, links: int, scope: Scope):
    """O_CREAT: make the file if its name is free; None when it exists (open it)."""
    entry = vfs.parent_of(base, path, scope)
    if entry.special or entry.trailing_slash:
        raise SyscallError(errno.EISDIR)
    found = vfs.lookup_entry(entry)
    if found is not None:
        if flags & os.O_EXCL:
            raise SyscallError(errno.EEXIST)
        if found.target is not None and found.jump is None and not flags & os.O_NOFOLLOW:
            # (a magic link, /proc/self/fd/N, names an open file: it exists)
            scope.check_link(entry.mount, [entry.name])
            try:  # a symlink is followed; a dangling one is created at its target
                vfs.resolve(entry.parent.path, found.target, scope=scope)
            except SyscallError as exc:
                if exc.errno != errno.ENOENT or links >= MAXSYMLINKS:
                    raise SyscallError(errno.ELOOP if links >= MAXSYMLINKS else exc.errno) from None
                return _create(vfs, creds, entry.parent.path, found.target, flags, mode, links + 1,
                               scope)
        return None
    if entry.mount.fs.fixed_names:
        raise SyscallError(errno.ENOENT)
    if entry.mount.readonly:
        raise SyscallError(errno.EROFS)
    permissions.check_create(creds, entry.parent.stat)
    uid, gid, mode = permissions.new_owner(creds, entry.parent.stat, statmod.S_IFREG | mode)
    made = entry.mount.fs.create(entry.rel, mode & 0o7777, uid, gid, _host_flags(flags) & ~os.O_TRUNC)
    return (OpenFile("file", entry.path, flags, entry.mount, entry.rel, made.node),
            _require(made.fd))


def _open_tmpfile(vfs, creds, base: str, path: str, flags: int, mode: int,
                  scope: Scope) -> tuple[OpenFile, int]:
    """O_TMPFILE: an unnamed regular file in the directory `path`."""
    if not flags & (os.O_WRONLY | os.O_RDWR):
        raise SyscallError(errno.EINVAL)
    res = vfs.resolve(base, path, scope=scope)
    if not statmod.S_ISDIR(res.stat.mode):
        raise SyscallError(errno.ENOTDIR)
    if res.mount.readonly:
        raise SyscallError(errno.EROFS)
    permissions.check_create(creds, res.stat)
    uid, gid, mode = permissions.new_owner(creds, res.stat, statmod.S_IFREG | mode)
    unlinkable = flags & os.O_EXCL  # O_TMPFILE|O_EXCL: never to be given a name
    made = res.mount.fs.tmpfile(res.rel, mode & 0o7777, uid, gid,
                                _host_flags(flags & ~os.O_TMPFILE | os.O_RDWR) & ~os.O_DIRECTORY
                                | unlinkable)
    name = f"{res.path.rstrip('/')}/#{made.stat.ino} (deleted)"
    return OpenFile("file", name, flags, res.mount, "", made.node), _require(made.fd)


def _opened(res, flags: int, kind: str) -> tuple[OpenFile, int]:
    return OpenFile(kind, res.path, flags, res.mount, res.rel, res.node), _require(res.fd)


def dir_entries(file: OpenFile) -> list[tuple[int, int, bytes]]:
    """A directory's listing, read once per open (so offsets stay stable)."""
    if file.dir_entries is None:
        listing = file.mount.fs.readdir(file.rel)
        file.dir_entries = [(1, 4, b"."), (1, 4, b"..")] + listing
    return file.dir_entries


def _host_flags(flags: int) -> int:
    host = flags & HOST_FLAGS
    if host & os.O_PATH:
        return os.O_PATH | (host & os.O_DIRECTORY)
    return host


def _require(fd: int | None) -> int:
    if fd is None:
        raise SyscallError(errno.EIO, "the filesystem returned no fd")
    return fd


def _close(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)
