"""A read-only tree of files the sentry makes up: what procfs and sysfs are built of.

A tree is made of four kinds of entry: Dir (its children computed when
walked, so /proc/<pid>/ follows the task table), File (its content rendered
when opened), Link (a symlink whose text is computed when read) and a Link
with a `jump` (a magic link: followed, it names an open file, not a path;
see vfs.Lookup). Nothing is cached: every walk sees the kernel as it is.

A file's content is a snapshot made at open and handed to the workload as a
read-only memfd, so read, lseek and pread run natively and later reads of
the same open file see the same bytes, as Linux's seq_file gives for a
reader that reads it whole. Stat reports size 0, as Linux does for proc files.

A File with a `write` takes writes (a /proc/sys value): opened for writing
it is a memfd of its own, empty (O_WRONLY) or holding the snapshot (O_RDWR),
whose content the sentry hands to `write` after the workload wrote it
(sentry/writeback.py). Opened for writing, a File without one is EACCES
(Linux opens it and fails the write with EIO). A File's `permission`, when
given, replaces the mode-bit rules (sysctl's: no capability overrides it).
"""
from __future__ import annotations

import collections
import errno
import os
import stat as statmod
import time
import zlib
from collections.abc import Callable

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.vfs import Filesystem, Lookup

BOOT_NS = time.time_ns()
DT_CHR, DT_DIR, DT_REG, DT_LNK = 2, 4, 8, 10


class File(collections.namedtuple("File", "render mode owner write permission opener",
                                   defaults=(0o444, (0, 0), None, None, None))):
    __slots__ = ()
    # fields:
    # render: Callable[[], bytes]
    # mode: int = 0o444
    # owner: tuple[int, int] = (0, 0)
    # write: Callable[[bytes], None] | None = None   # takes the content written
    # permission: Callable[[creds, int], bool] | None = None   # may creds have R_OK|W_OK|X_OK?
    # opener: Callable[[int], int] | None = None   # a live host fd for these open flags
    #         (/proc/<pid>/mem), instead of a snapshot of `render`


class Dir(collections.namedtuple(
        "Dir",
        "children mode owner guard child",
        defaults=(0o555, (0, 0), None, None))):
    __slots__ = ()
    # fields:
    # children: Callable[[], dict[str, "Entry"]]
    # mode: int = 0o555
    # owner: tuple[int, int] = (0, 0)
    # guard: Callable[[], None] | None = None   # raises when the caller may not open it
    # child: Callable[[str], "Entry | None"] | None = None  # one entry, without listing all

    def find(self, name: str) -> "Entry | None":
        return self.child(name) if self.child is not None else self.children().get(name)


class Link(collections.namedtuple(
        "Link",
        "target jump mode owner size",
        defaults=(None, 0o777, (0, 0), None))):
    __slots__ = ()
    # fields:
    # target: Callable[[], str]
    # jump: Callable[[int], object] | None = None   # magic: see vfs.Lookup.jump
    # mode: int = 0o777
    # owner: tuple[int, int] = (0, 0)
    # size: int | None = None   # st_size; None: the length of the text


Entry = File | Dir | Link


def fixed(data: bytes | str) -> File:
    """A file whose content never changes."""
    raw = data.encode() if isinstance(data, str) else data
    return File(lambda: raw)


def to(target: str) -> Link:
    """A plain symlink with fixed text."""
    return Link(lambda: target)


def listing(entries: dict[str, Entry]) -> Dir:
    """A directory with fixed entries."""
    return Dir(lambda: entries)


def snapshot(data: bytes) -> int:
    """A host fd reading `data`: a memfd, reopened read-only so writes get EBADF."""
    memfd = os.memfd_create("runsc-py-snapshot", os.MFD_CLOEXEC)
    try:
        _write_all(memfd, data)
        os.fchmod(memfd, 0o444)   # what fstat of the open file shows
        return os.open(f"/proc/self/fd/{memfd}", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(memfd)


def writable(data: bytes, open_flags: int) -> int:
    """A host fd for writing a File: a memfd holding `data`, opened as `open_flags` ask."""
    memfd = os.memfd_create("runsc-py-written", os.MFD_CLOEXEC)
    try:
        _write_all(memfd, data)
        flags = open_flags & (os.O_ACCMODE | os.O_APPEND | os.O_NONBLOCK)
        return os.open(f"/proc/self/fd/{memfd}", flags | os.O_CLOEXEC)
    finally:
        os.close(memfd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class SyntheticFilesystem(Filesystem):
    """Walks a tree of entries; subclasses give `root` and their fstype.
    Nothing here can be created (no name that is not there can be looked
    up: ENOENT) or changed (the Filesystem defaults: EPERM); a File with a
    `write` can be written when `writebacks` (the kernel's) is given."""

    readonly = True
    fstype = "none"
    magic = 0
    fixed_names = True

    def __init__(self, root: Dir, dir_fd_source: Callable[[], int], writebacks=None):
        self.root = root
        self.dir_fd_source = dir_fd_source
        self.writebacks = writebacks   # sentry.writeback.WriteBacks, or None: nothing takes writes

    def permission(self, path: str, st: Stat, creds, want: int) -> bool:
        entry = self._entry(path)
        if isinstance(entry, File) and entry.permission is not None:
            return entry.permission(creds, want)
        return super().permission(path, st, creds, want)

    def _entry(self, path: str) -> "Entry | None":
        entry = self.root
        for name in path.split("/") if path else []:
            entry = entry.find(name) if isinstance(entry, Dir) else None
            if entry is None:
                return None
        return entry

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        names = path.split("/") if path else []
        entry: Entry = self.root
        for i, name in enumerate(names):
            if isinstance(entry, Link):  # a link in the middle: the VFS walks its text
                return Lookup("symlink", consumed=i, target=entry.target())
            if not isinstance(entry, Dir):
                raise SyscallError(errno.ENOTDIR)
            child = entry.find(name)
            if child is None:
                raise SyscallError(errno.ENOENT)
            entry = child
        return self._found(path, entry, open_flags)

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        entry = self._entry(path)
        if entry is None:
            raise SyscallError(errno.ENOENT)
        if not isinstance(entry, Dir):
            raise SyscallError(errno.ENOTDIR)
        prefix = path + "/" if path else ""
        return [(self.ino(prefix + name), _dtype(child), name.encode())
                for name, child in entry.children().items()]

    def ino(self, path: str) -> int:
        """A stable inode number per path (files here have no other identity)."""
        return zlib.crc32(f"{self.fstype}:{path}".encode()) + 2 if path else 1

    def _found(self, path: str, entry: Entry, open_flags: int) -> Lookup:
        uid, gid = entry.owner
        ino = self.ino(path)
        if isinstance(entry, Dir):
            st = _stat(statmod.S_IFDIR | entry.mode, ino, uid, gid, nlink=2)
            if open_flags >= 0 and entry.guard is not None:
                entry.guard()
            fd = self.dir_fd_source() if open_flags >= 0 else None
            return Lookup("found", stat=st, fd=fd)
        if isinstance(entry, File):
            st = _stat(statmod.S_IFREG | entry.mode, ino, uid, gid)
            if entry.opener is not None and open_flags >= 0 and not open_flags & os.O_PATH:
                return Lookup("found", stat=st, fd=entry.opener(open_flags))
            if open_flags < 0 or open_flags & os.O_ACCMODE == os.O_RDONLY:
                fd = snapshot(entry.render()) if open_flags >= 0 else None
                return Lookup("found", stat=st, fd=fd)
            if entry.write is None or self.writebacks is None:
                raise SyscallError(errno.EACCES)
            fd = writable(entry.render() if open_flags & os.O_RDWR else b"", open_flags)
            os.fchmod(fd, entry.mode)   # what fstat of the open file shows
            token = object()            # the OpenFile's node: its guest fds are found by it
            self.writebacks.watch(token, fd, entry.write)
            return Lookup("found", stat=st, fd=fd, node=token)
        target = entry.target()
        size = len(os.fsencode(target)) if entry.size is None else entry.size
        st = _stat(statmod.S_IFLNK | entry.mode, ino, uid, gid, size=size)
        # O_PATH|O_NOFOLLOW of the link itself: an empty placeholder holds the number
        fd = snapshot(b"") if open_flags >= 0 else None
        return Lookup("found", stat=st, target=target, fd=fd, jump=entry.jump)


def _stat(mode: int, ino: int, uid: int, gid: int, nlink: int = 1, size: int = 0) -> Stat:
    return Stat(mode, ino, 0, nlink, uid, gid, 0, size, 4096, 0, BOOT_NS, BOOT_NS, BOOT_NS)


def _dtype(entry) -> int:
    if isinstance(entry, Dir):
        return DT_DIR
    if isinstance(entry, File):
        return DT_REG
    return DT_LNK if isinstance(entry, Link) else DT_CHR  # dev.py's devices


class EmptyDirectory(SyntheticFilesystem):
    """A directory with nothing in it: a masked path, an empty cgroup mount."""

    def __init__(self, dir_fd_source: Callable[[], int], fstype: str = "tmpfs"):
        super().__init__(listing({}), dir_fd_source)
        self.fstype = fstype
