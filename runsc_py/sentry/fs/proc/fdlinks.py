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
- the mode and owner of a mount's file (sentry/permissions.py): EACCES;
- a file passed in by the caller (kind "host"), or reopened from one, never
  gains access it was not given: the new access mode must be within the
  old one (the host fd may be a host file the sentry, as root, could write).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat as statmod
from collections.abc import Callable

from runsc_py.sentry import fifos, permissions
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs import hostinfo
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.vfs import Filesystem, Lookup, Mount, Resolved

UNOPENABLE = ("epoll", "eventfd")
_ACCESS_BITS = {os.O_RDONLY: 4, os.O_WRONLY: 2, os.O_RDWR: 6}   # as access(2)'s R_OK/W_OK
WRITE_INTENT = os.O_WRONLY | os.O_RDWR | os.O_TRUNC
# flags a reopen passes to the host; creation and following are the VFS's business
REOPEN_FLAGS = (os.O_ACCMODE | os.O_APPEND | os.O_NONBLOCK | os.O_DIRECTORY | os.O_NOATIME
                | os.O_DSYNC | os.O_SYNC | os.O_DIRECT | os.O_LARGEFILE | os.O_TRUNC)


class HostObject(Filesystem):
    """The pseudo-filesystem of one file no mount holds (a pipe, a memfd, a
    passed-in file), as the Resolved.mount of a reopen names it: a lookup of
    it reopens that file (with reopen's checks). Never in the mount table."""

    readonly = False
    fstype = "anon"

    def __init__(self, stat: Stat, opener: Callable[[int], int]):
        self.stat, self.opener = stat, opener

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        return Lookup("found", stat=self.stat, fd=self.opener(open_flags) if open_flags >= 0 else None)

    def readdir(self, path: str):
        raise SyscallError(errno.ENOTDIR)


def link_text(kernel, process, fd: int, host_paths: list[tuple[str, str]]) -> str:
    file = process.fds.file(fd)
    if file.kind in UNOPENABLE or file.path.startswith(("anon_inode:", "/memfd:")):
        return file.path
    if file.flags & os.O_PATH and _on_a_mount(file):  # no host fd: the node says it all
        st = file.mount.fs.stat_node(file.node) if file.node is not None else None
        gone = st is not None and st.nlink == 0 and not statmod.S_ISDIR(st.mode)
        return file.path + " (deleted)" if gone else file.path
    st = _borrowed_stat(kernel, process, fd)
    if statmod.S_ISSOCK(st.st_mode):
        return f"socket:[{st.st_ino}]"
    if not _on_a_mount(file):  # a pipe, or a file the caller of runsc-py passed in
        if statmod.S_ISFIFO(st.st_mode):
            return f"pipe:[{st.st_ino}]"
        return _host_file_name(kernel, process, fd, host_paths) or file.path
    if _file_stat(file, st).nlink == 0 and not statmod.S_ISDIR(st.st_mode):
        return file.path + " (deleted)"
    return file.path


def _file_stat(file, host_st: os.stat_result) -> Stat:
    """A mount's file as its filesystem has it (a tmpfs file's host inode is an
    unlinked memfd: its own mode, owner and link count are the node's)."""
    node_stat = file.mount.fs.stat_node(file.node) if file.node is not None else None
    return (node_stat or file.mount.fs.shown(Stat.from_os(host_st))).with_dev(file.mount.dev)


def _may_widen(file) -> bool:
    """Whether a reopen may ask for more access than this open file has:
    yes for a file of a mount (the mount and the file's mode decide) and for
    what the sandbox made itself (its pipes, memfds); never for a file the
    caller of runsc-py passed in, nor for anything reopened from one."""
    return file.kind in ("pipe", "memfd") or _on_a_mount(file)


def _on_a_mount(file) -> bool:
    return file.mount is not None and not isinstance(file.mount.fs, HostObject)


def reopen(kernel, caller, process, fd: int, open_flags: int) -> Resolved:
    """What opening (or stat-ing, open_flags < 0) /proc/<pid>/fd/<fd> gives."""
    file = process.fds.file(fd)
    writes = open_flags >= 0 and open_flags & WRITE_INTENT and not open_flags & os.O_PATH
    by_name = file.kind == "dir" or file.flags & os.O_PATH  # O_PATH: nothing on the host
    if by_name and file.mount is not None or _on_a_mount(file) and writes:
        # directories and O_PATH files are names here; and a write must reach the
        # file through its filesystem (read-only mounts refuse, an overlay copies up)
        return kernel.vfs.resolve("/", file.path, follow=True, open_flags=open_flags)
    if file.kind in UNOPENABLE and open_flags >= 0:
        raise SyscallError(errno.ENXIO)
    host_st = _borrowed_stat(kernel, process, fd)
    if _on_a_mount(file):
        mount = file.mount
        st = _file_stat(file, host_st)
    else:  # the host's owner is the sentry's: show the fd owner's, as its creator
        st = Stat.from_os(host_st)._replace(uid=process.creds.euid, gid=process.creds.egid)
        mount = Mount("", HostObject(st, lambda flags: _reopened(kernel, caller, process, fd, flags)),
                      readonly=False, dev=st.dev, mount_id=0)
    opened = None if open_flags < 0 else _reopened(kernel, caller, process, fd, open_flags)
    return Resolved(file.path, mount, file.rel, st, fd=opened, node=file.node,
                    open_file=file, host_file=lambda: borrow(kernel, process, fd))


def _reopened(kernel, caller, process, fd: int, open_flags: int) -> int:
    """A new open file description of what guest fd `fd` is open on, if allowed."""
    file = process.fds.file(fd)
    with borrowed(kernel, process, fd) as host:
        st = os.fstat(host)
        _check_reopen(caller, file, host, st, open_flags)
        return _reopen_host(host, st, open_flags)


def _check_reopen(caller, file, host: int, st: os.stat_result, flags: int) -> None:
    if statmod.S_ISSOCK(st.st_mode) or file.kind in UNOPENABLE:
        raise SyscallError(errno.ENXIO)
    if flags & WRITE_INTENT and file.mount is not None and file.mount.readonly:
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
    if _on_a_mount(file):
        permissions.check(caller.creds, _file_stat(file, st), want)


def _reopen_host(host: int, st: os.stat_result, flags: int) -> int:
    """A new open file description of what `host` is open on."""
    if flags & os.O_PATH:
        host_flags = os.O_PATH
    else:
        host_flags = (flags & REOPEN_FLAGS) | os.O_NOCTTY
    if statmod.S_ISFIFO(st.st_mode) and not flags & os.O_PATH \
            and not os.readlink(f"/proc/self/fd/{host}").startswith("pipe:"):
        # a named FIFO's open may wait for a partner (an anonymous pipe's never
        # does): never on the loop (sentry/fifos.py)
        held = os.open(f"/proc/self/fd/{host}", os.O_PATH | os.O_CLOEXEC)
        return fifos.open_fifo(lambda f: os.open(f"/proc/self/fd/{held}", f | os.O_CLOEXEC),
                               host_flags, (st.st_dev, st.st_ino), release=lambda: os.close(held))
    return os.open(f"/proc/self/fd/{host}", host_flags | os.O_CLOEXEC)


def _host_file_name(kernel, process, fd: int, host_paths: list[tuple[str, str]]) -> str | None:
    """The host's name of a passed-in file, if it is a path under the sandbox's root."""
    with borrowed(kernel, process, fd) as host:
        try:
            name = os.readlink(f"/proc/self/fd/{host}")
        except OSError:
            return None
    return hostinfo.to_guest(name, host_paths) if name.startswith("/") else None


def _borrowed_stat(kernel, process, fd: int) -> os.stat_result:
    with borrowed(kernel, process, fd) as host:
        return os.fstat(host)


def borrow(kernel, process, fd: int) -> int:
    """A sentry copy of the host fd behind `process`'s guest fd (the caller closes it)."""
    task = next(iter(list(process.threads.values())), None)
    if task is None:
        raise SyscallError(errno.ENOENT)
    return kernel.borrow_fd(task, fd)


@contextlib.contextmanager
def borrowed(kernel, process, fd: int):
    """The host fd behind `process`'s guest fd, for the sentry's use in a with block."""
    host = borrow(kernel, process, fd)
    try:
        yield host
    finally:
        os.close(host)
