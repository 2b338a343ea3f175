"""Host calls Python's os module lacks, each raising OSError as os does.

The C is csrc/hostcalls.c (in runsc_py._interpose, which the sentry loads
anyway; ctypes would cost ~1.8 ms of every cold start). The gofer's
(renameat2 without glibc's fallback, fchmodat2, linking an fd, fstatfs's
f_type, Landlock, its parent-death signal), the tmpfs store's detached
mount (fsopen, fsconfig, fsmount), the signalfd and timerfd objects the
sentry makes for the workload, and the sentry's own host inotify instance
(sentry/inotify_host.py). Not the hot path: that is C too.
"""
from __future__ import annotations

import os
import sys

from runsc_py._interpose import ffi, lib

AT_SYMLINK_NOFOLLOW = 0x100


def _check(rc: int) -> int:
    if rc < 0:
        raise OSError(-rc, os.strerror(-rc))
    return rc


def renameat2(olddirfd: int, old: str, newdirfd: int, new: str, flags: int) -> None:
    """The raw syscall: glibc's wrapper makes a renameat call instead when flags
    are 0, which the gofer's filter does not allow."""
    _check(lib.rp_renameat2(olddirfd, os.fsencode(old), newdirfd, os.fsencode(new), flags))


def link_fd(fd: int, dirfd: int, name: str) -> None:
    """linkat(fd, "", dirfd, name, AT_EMPTY_PATH): a name for an open file (an O_TMPFILE)."""
    _check(lib.rp_link_fd(fd, dirfd, os.fsencode(name)))


def fchmodat_nofollow(dirfd: int, name: str, mode: int) -> None:
    """chmod a name without following it, even if it is a symlink (fchmodat2, Linux 6.6)."""
    _check(lib.rp_fchmodat2(dirfd, os.fsencode(name), mode, AT_SYMLINK_NOFOLLOW))


def fstatfs_type(fd: int) -> int:
    """The filesystem's magic number (f_type), which os.fstatvfs does not give."""
    return _check(lib.rp_fstatfs_type(fd))


def fsopen(fsname: str, flags: int) -> int:
    return _check(lib.rp_fsopen(os.fsencode(fsname), flags))


def fsconfig(fd: int, cmd: int, key: str | None = None, value: str | None = None,
             aux: int = 0) -> None:
    _check(lib.rp_fsconfig(fd, cmd, ffi.NULL if key is None else os.fsencode(key),
                           ffi.NULL if value is None else os.fsencode(value), aux))


def fsmount(fd: int, flags: int, attr_flags: int = 0) -> int:
    return _check(lib.rp_fsmount(fd, flags, attr_flags))


def signalfd(fd: int, mask: int, flags: int) -> int:
    """signalfd4 with a 64-bit mask (bit N-1 for signal N): a new one (fd -1) or a new mask."""
    return _check(lib.rp_signalfd(fd, mask, flags))


def timerfd_create(clockid: int, flags: int) -> int:
    return _check(lib.rp_timerfd_create(clockid, flags))


def timerfd_every(fd: int, interval_ns: int) -> None:
    """Arm timerfd `fd` to fire every interval_ns from now (0 disarms it)."""
    _check(lib.rp_timerfd_every(fd, interval_ns))


def set_pdeathsig(sig: int) -> None:
    """The signal this process gets when its parent dies (PR_SET_PDEATHSIG)."""
    _check(lib.rp_set_pdeathsig(sig))


def keep_capabilities(caps: tuple[int, ...]) -> None:
    """Drop every capability but `caps` (CAP_* numbers) from this thread's
    effective, permitted, inheritable, ambient and bounding sets."""
    keep = 0
    for cap in caps:
        keep |= 1 << cap
    _check(lib.rp_keep_capabilities(keep))


def leave_host_tree(extra: tuple[str, ...] = (), outer_proc: int = -1) -> None:
    """This (single-threaded) process's root becomes an empty read-only
    tmpfs holding only: read-only copies of the host's mounts at Python's
    code (/usr, each directory on sys.path but the cwd, and each loaded
    package's: imports are lazy) and at `extra`; the host's top-level
    symlinks (/lib -> usr/lib, for the dynamic loader); a /proc and
    /dev/pts of its own (hostcalls.c, rp_empty_root). A path inside
    another is its. With `outer_proc` (a procfs mount fd), the namespace's
    root shows that at /proc and this process is chrooted beneath it."""
    # (an editable install's packages are found by a finder, not sys.path;
    # the cwd `python -m` puts first on it is the caller's, not code's)
    packages = [entry for name, module in list(sys.modules.items()) if "." not in name
                for entry in (getattr(module, "__path__", None) or ())]
    cwd = os.path.realpath(".")
    wanted = {os.path.realpath(p) for p in ("/usr", *extra, *packages)}
    wanted |= {os.path.realpath(e) for e in sys.path if os.path.isabs(e)} - {cwd}
    kept: list[str] = []
    for path in sorted(p for p in wanted if os.path.isdir(p)):
        if not any(path.startswith(k + "/") for k in kept):
            kept.append(path)
    links = [(name, os.readlink("/" + name)) for name in os.listdir("/")
             if name not in ("proc", "dev") and os.path.islink("/" + name)]
    names = [ffi.new("char[]", os.fsencode(path)) for path in kept]
    pairs = [ffi.new("char[]", os.fsencode(part)) for link in links for part in link]
    _check(lib.rp_empty_root(ffi.new("char *[]", names), len(kept),
                             ffi.new("char *[]", pairs), len(links), outer_proc))


def procfs_of(pidns_fd: int) -> int:
    """A procfs mount (an fd) showing the pid namespace `pidns_fd` names (hostcalls.c)."""
    return _check(lib.rp_procfs_of(pidns_fd))


def hold_directory(path: str) -> int:
    """An fd to make files in directory `path` from, whose ".." leads
    nowhere: the root of a detached bind mount of it (hostcalls.c)."""
    return _check(lib.rp_hold_directory(os.fsencode(path)))


def detached_tree(path: str, readonly: bool) -> int:
    """A detached copy of the mounts at `path` (nosuid, nodev, private;
    read-only if asked), as an O_PATH fd of its root (hostcalls.c)."""
    return _check(lib.rp_detached_tree(os.fsencode(path), int(readonly)))


def landlock_abi() -> int:
    """The host's Landlock ABI version; 0 when Landlock is not there."""
    return max(lib.rp_landlock_abi(), 0)


def landlock_create_ruleset(handled_access_fs: int) -> int:
    return _check(lib.rp_landlock_create_ruleset(handled_access_fs))


def landlock_add_path_rule(ruleset: int, allowed_access: int, parent_fd: int) -> None:
    _check(lib.rp_landlock_add_path_rule(ruleset, allowed_access, parent_fd))


def landlock_restrict_self(ruleset: int) -> None:
    _check(lib.rp_landlock_restrict_self(ruleset))


def landlock_restrict_scopes(scoped: int) -> None:
    """Enter a Landlock domain that handles only these scopes (hostcalls.c)."""
    _check(lib.rp_landlock_restrict_scopes(scoped))


def inotify_init1(flags: int) -> int:
    """A host inotify instance (the sentry's own: sentry/inotify_host.py)."""
    return _check(lib.rp_inotify_init1(flags))


def inotify_add_watch(fd: int, path: str, mask: int) -> int:
    return _check(lib.rp_inotify_add_watch(fd, os.fsencode(path), mask))


def inotify_rm_watch(fd: int, wd: int) -> None:
    _check(lib.rp_inotify_rm_watch(fd, wd))
