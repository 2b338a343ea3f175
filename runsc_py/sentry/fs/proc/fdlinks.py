"""/proc/<pid>/fd/N: magic links the sentry resolves, never the host.

readlink gives the open file as the sandbox names it: its guest path (with
" (deleted)" once unlinked), `pipe:[ino]`, `socket:[ino]`, or the
`anon_inode:[...]`/`/memfd:...` name it was made with. Nothing from the
host's namespace: a file the caller of runsc-py passed in (kind "host")
shows its host path only when that lies under the sandbox's root.

Opening one (the VFS calls `reopen` through Lookup.jump) reopens *that* open
file, as Linux does: the sentry borrows the host fd behind the guest fd and
reopens it through its own /proc/self/fd, which gives a new open file
description of the same inode (for a pipe, the same pipe). Linux would
check the inode's permissions; the sentry checks what decides the same
thing here, before the host is asked:
- the caller may inspect the process (ptrace access: its own uid, or root);
- sockets and anon inodes (eventfd, epoll) cannot be reopened: ENXIO;
- a write to a file of a mount goes through the mount's filesystem by the
  file's path, never through the host fd (which may be a host file the
  sentry could write: a read-only mount refuses, an overlay copies up);
- the mode and owner of a mount's file (Credentials.may_access): EACCES;
- a file passed in by the caller (kind "host"), or reopened from one, never
  gains access it was not given: the new access mode must be within the
  old one (the host fd may be a host file the sentry, as root, could write).
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import os
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs import hostinfo
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.vfs import Mount, Resolved

UNOPENABLE = ("epoll", "eventfd")
_ACCESS_BITS = {os.O_RDONLY: 4, os.O_WRONLY: 2, os.O_RDWR: 6}   # as access(2)'s R_OK/W_OK
WRITE_INTENT = os.O_WRONLY | os.O_RDWR | os.O_TRUNC
# flags a reopen passes to the host; creation and following are the VFS's business
REOPEN_FLAGS = (os.O_ACCMODE | os.O_APPEND | os.O_NONBLOCK | os.O_DIRECTORY | os.O_NOATIME
                | os.O_DSYNC | os.O_SYNC | os.O_DIRECT | os.O_LARGEFILE | os.O_TRUNC)


class HostObjects:
    """The pseudo-filesystem of files no mount holds (pipes, memfds, passed-in
    files): what a reopened one's Resolved.mount is. Never in the mount table."""

    readonly = False
    fstype = "anon"

    def lookup(self, path: str, open_flags: int = -1):
        raise SyscallError(errno.ENOENT)

    def readdir(self, path: str):
        raise SyscallError(errno.ENOTDIR)


_HOST_OBJECTS = HostObjects()


def link_text(kernel, process, fd: int, host_root: str) -> str:
    file = process.fds.file(fd)
    if file.kind in UNOPENABLE or file.path.startswith(("anon_inode:", "/memfd:")):
        return file.path
    st = _borrowed_stat(kernel, process, fd)
    if statmod.S_ISSOCK(st.st_mode):
        return f"socket:[{st.st_ino}]"
    if not _on_a_mount(file):  # a pipe, or a file the caller of runsc-py passed in
        if statmod.S_ISFIFO(st.st_mode):
            return f"pipe:[{st.st_ino}]"
        return _host_file_name(kernel, process, fd, host_root) or file.path
    if st.st_nlink == 0 and not statmod.S_ISDIR(st.st_mode):
        return file.path + " (deleted)"
    return file.path


def _may_widen(file) -> bool:
    """Whether a reopen may ask for more access than this open file has:
    yes for a file of a mount (the mount and the file's mode decide) and for
    what the sandbox made itself (its pipes, memfds); never for a file the
    caller of runsc-py passed in, nor for anything reopened from one."""
    return file.kind in ("pipe", "memfd") or _on_a_mount(file)


def _on_a_mount(file) -> bool:
    return file.mount is not None and file.mount.fs is not _HOST_OBJECTS


def reopen(kernel, caller, process, fd: int, open_flags: int) -> Resolved:
    """What opening (or stat-ing, open_flags < 0) /proc/<pid>/fd/<fd> gives."""
    file = process.fds.file(fd)
    if file.kind == "dir" and file.mount is not None or _on_a_mount(file) and (
            open_flags >= 0 and open_flags & WRITE_INTENT and not open_flags & os.O_PATH):
        # directories are names here; and a write must reach the file through
        # its filesystem (read-only mounts refuse, an overlay copies up)
        return kernel.vfs.resolve("/", file.path, follow=True, open_flags=open_flags)
    if file.kind in UNOPENABLE and open_flags >= 0:
        raise SyscallError(errno.ENXIO)
    with borrowed(kernel, process, fd) as host:
        st = os.fstat(host)
        mount = file.mount if file.mount is not None else _host_mount(st)
        resolved = Resolved(file.path, mount, file.rel,
                            Stat.from_os(st).with_dev(mount.dev))
        if open_flags < 0:
            return resolved
        _check_reopen(caller, file, host, st, mount, open_flags)
        return dataclasses.replace(resolved, fd=_reopen_host(host, st, open_flags))


def _check_reopen(caller, file, host: int, st: os.stat_result, mount, flags: int) -> None:
    if statmod.S_ISSOCK(st.st_mode):
        raise SyscallError(errno.ENXIO)
    if flags & WRITE_INTENT and mount.readonly:
        raise SyscallError(errno.EROFS)
    if flags & os.O_PATH:  # a name, not access: nothing more to check
        return
    want = _ACCESS_BITS.get(flags & os.O_ACCMODE, 0) | (2 if flags & os.O_TRUNC else 0)
    if not _may_widen(file):
        have = fcntl.fcntl(host, fcntl.F_GETFL)
        allowed = 0 if have & os.O_PATH else _ACCESS_BITS.get(have & os.O_ACCMODE, 0)
        if want & ~allowed:
            raise SyscallError(errno.EACCES)
    # the owner of a pipe or memfd on the host is the sentry: only a mount's files have modes to check
    if _on_a_mount(file) and not caller.creds.may_access(Stat.from_os(st), want):
        raise SyscallError(errno.EACCES)


def _reopen_host(host: int, st: os.stat_result, flags: int) -> int:
    """A new open file description of what `host` is open on."""
    if flags & os.O_PATH:
        host_flags = os.O_PATH
    else:
        host_flags = (flags & REOPEN_FLAGS) | os.O_NOCTTY
    if statmod.S_ISFIFO(st.st_mode) and not flags & os.O_NONBLOCK and not flags & os.O_PATH:
        # the sentry never blocks: a pipe with no reader gives ENXIO instead of a wait
        fd = os.open(f"/proc/self/fd/{host}", host_flags | os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(fd, True)
        return fd
    return os.open(f"/proc/self/fd/{host}", host_flags | os.O_CLOEXEC)


def _host_mount(st: os.stat_result) -> Mount:
    return Mount("", _HOST_OBJECTS, readonly=False, dev=st.st_dev, mount_id=0)


def _host_file_name(kernel, process, fd: int, host_root: str) -> str | None:
    """The host's name of a passed-in file, if it is a path under the sandbox's root."""
    with borrowed(kernel, process, fd) as host:
        try:
            name = os.readlink(f"/proc/self/fd/{host}")
        except OSError:
            return None
    return hostinfo.under_root(name, host_root) if name.startswith("/") else None


def _borrowed_stat(kernel, process, fd: int) -> os.stat_result:
    with borrowed(kernel, process, fd) as host:
        return os.fstat(host)


@contextlib.contextmanager
def borrowed(kernel, process, fd: int):
    """The host fd behind `process`'s guest fd, for the sentry's use in a with block."""
    task = next(iter(list(process.threads.values())), None)
    if task is None:
        raise SyscallError(errno.ENOENT)
    host = kernel.borrow_fd(task, fd)
    try:
        yield host
    finally:
        os.close(host)
