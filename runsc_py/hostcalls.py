"""Host calls Python's os module lacks, through ctypes, each raising OSError as os does.

The gofer's (renameat2 without glibc's fallback, fchmodat2, linking an
fd, fstatfs's f_type), raw `syscall()` for the tmpfs store's
fsopen/fsmount and the gofer's Landlock set-up, and the sentry's own host
inotify instance. Not the hot path: that is C.
"""
from __future__ import annotations

import ctypes
import os

AT_SYMLINK_NOFOLLOW = 0x100
NR_FCHMODAT2 = 452
NR_RENAMEAT2 = 316

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def syscall(nr: int, *args) -> int:
    """syscall(2) by number; OSError on failure."""
    return _check(_libc.syscall(nr, *args))


def _check(rc: int) -> int:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def renameat2(olddirfd: int, old: str, newdirfd: int, new: str, flags: int) -> None:
    """The raw syscall: glibc's wrapper makes a renameat call instead when flags
    are 0, which the gofer's filter does not allow."""
    syscall(NR_RENAMEAT2, olddirfd, os.fsencode(old), newdirfd, os.fsencode(new), flags)


AT_EMPTY_PATH = 0x1000


def link_fd(fd: int, dirfd: int, name: str) -> None:
    """linkat(fd, "", dirfd, name, AT_EMPTY_PATH): a name for an open file (an O_TMPFILE)."""
    _check(_libc.linkat(fd, b"", dirfd, os.fsencode(name), AT_EMPTY_PATH))


def fchmodat_nofollow(dirfd: int, name: str, mode: int) -> None:
    """chmod a name without following it, even if it is a symlink (fchmodat2, Linux 6.6)."""
    syscall(NR_FCHMODAT2, dirfd, os.fsencode(name), mode, AT_SYMLINK_NOFOLLOW)


class _StatFs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_long * 14)]


def fstatfs_type(fd: int) -> int:
    """The filesystem's magic number (f_type), which os.fstatvfs does not give."""
    buf = _StatFs()
    _check(_libc.fstatfs(fd, ctypes.byref(buf)))
    return buf.f_type


def inotify_init1(flags: int) -> int:
    """A host inotify instance (the sentry's own: sentry/inotify_host.py)."""
    return _check(_libc.inotify_init1(flags))


def inotify_add_watch(fd: int, path: str, mask: int) -> int:
    return _check(_libc.inotify_add_watch(fd, os.fsencode(path), ctypes.c_uint32(mask)))


def inotify_rm_watch(fd: int, wd: int) -> None:
    _check(_libc.inotify_rm_watch(fd, wd))
