"""Opening files by path: Linux's open(2) rules over the VFS (fs/open.c's part)."""
from __future__ import annotations

import errno
import os
import posixpath
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import OpenFile

ACCESS_MODE = os.O_RDONLY | os.O_WRONLY | os.O_RDWR
WRITE_INTENT = os.O_WRONLY | os.O_RDWR | os.O_TRUNC
# flags the host open keeps; the sentry handles creation, following, cloexec
HOST_FLAGS = (ACCESS_MODE | os.O_APPEND | os.O_NONBLOCK | os.O_DIRECTORY | os.O_PATH
              | os.O_NOATIME | os.O_DSYNC | os.O_SYNC | os.O_DIRECT | os.O_LARGEFILE)


def open_path(ctx, base: str, path: str, flags: int) -> tuple[OpenFile, int]:
    """Resolve and open `path` for the caller; returns (OpenFile, host fd)."""
    vfs = ctx.kernel.vfs
    follow = not flags & os.O_NOFOLLOW
    if flags & os.O_TMPFILE == os.O_TMPFILE or flags & ACCESS_MODE == ACCESS_MODE:
        raise SyscallError(errno.EINVAL if flags & ACCESS_MODE == ACCESS_MODE else errno.EROFS)
    try:
        res = vfs.resolve(base, path, follow=follow and not flags & os.O_EXCL,
                          open_flags=_host_flags(flags))
    except SyscallError as exc:
        if exc.errno == errno.ENOENT and flags & os.O_CREAT:
            _check_creatable(ctx, base, path)
        raise
    if flags & os.O_CREAT and flags & os.O_EXCL:
        _close(res.fd)
        raise SyscallError(errno.EEXIST)
    if res.target is not None:  # an unfollowed symlink
        if flags & os.O_PATH:
            return OpenFile("file", res.path, flags, res.mount, res.rel), _require(res.fd)
        raise SyscallError(errno.ELOOP)
    is_dir = statmod.S_ISDIR(res.stat.mode)
    if is_dir and flags & (WRITE_INTENT | os.O_CREAT) and not flags & os.O_PATH:
        _close(res.fd)
        raise SyscallError(errno.EISDIR)
    if flags & os.O_DIRECTORY and not is_dir:
        _close(res.fd)
        raise SyscallError(errno.ENOTDIR)
    if flags & WRITE_INTENT and res.mount.readonly and not flags & os.O_PATH:
        _close(res.fd)
        raise SyscallError(errno.EROFS)
    kind = "dir" if is_dir else "device" if statmod.S_ISCHR(res.stat.mode) else "file"
    return OpenFile(kind, res.path, flags, res.mount, res.rel), _require(res.fd)


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


def _check_creatable(ctx, base: str, path: str) -> None:
    """O_CREAT of a missing file: EROFS if its directory exists on a read-only mount."""
    parent = ctx.kernel.vfs.resolve(base, posixpath.dirname(path.rstrip("/")) or ".")
    if not statmod.S_ISDIR(parent.stat.mode):
        raise SyscallError(errno.ENOTDIR)
    if parent.mount.readonly:
        raise SyscallError(errno.EROFS)


def _require(fd: int | None) -> int:
    if fd is None:
        raise SyscallError(errno.EIO, "the filesystem returned no fd")
    return fd


def _close(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)
