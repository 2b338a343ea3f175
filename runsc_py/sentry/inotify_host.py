"""The sentry's host inotify instance: how IN_ACCESS and IN_MODIFY of native I/O are seen.

Reads and writes on the files the sentry installs run natively, so the
sentry never sees them. But every regular file of its filesystems keeps
its bytes in a host inode (a tmpfs file's unnamed inode, a rootfs or
bind-mounted file the gofer opens), and a host inotify watch on that inode
sees every read and write of it, whichever process makes it through
whichever fd. So the sentry keeps one host inotify instance
(IN_NONBLOCK|IN_CLOEXEC, made at the first workload watch that needs it)
and watches, for IN_ACCESS|IN_MODIFY only, the inode of every *name* a
workload watch covers (sentry/inotify.py decides which): it reaches the
inode through an O_PATH fd and `/proc/self/fd/N`, so no host path is ever
named. The host gives one inode one wd, however often it is watched, so
hard links share it; the wd maps back to the names.

A name unlinked while a directory watch without IN_EXCL_UNLINK covers it
stays on its inode as *gone*: on Linux the open file still reports to the
directory under its old name. The host ends the watch (IN_IGNORED) when the
inode dies, at its last close, and the name goes with it. A name that
comes to mean another inode without an unlink (an overlay copy-up) stays
on the old one as *former*, for the descriptions opened before.

What this module holds: the host fd, names -> wd, wd -> HostInode. What it
does not decide: which names are covered, and whom an event is for.
"""
from __future__ import annotations

import errno
import os
import struct

from runsc_py import hostcalls

IN_ACCESS, IN_MODIFY = 0x1, 0x2
IN_Q_OVERFLOW, IN_IGNORED = 0x4000, 0x8000
WATCHED = IN_ACCESS | IN_MODIFY
EVENT = struct.Struct("<iIII")

Name = tuple  # (mount id, path within the mount)


class HostInode:
    """One host watch: the names its inode is covered by."""

    __slots__ = ("ino", "names", "gone", "former")

    def __init__(self, ino: tuple[int, int]):
        self.ino = ino                 # (st_dev, st_ino) on the host
        self.names: set[Name] = set()  # names it has now
        self.gone: set[Name] = set()   # names unlinked while open, still reported to their directory
        # names that now mean another inode though nothing unlinked them (an
        # overlay copy-up): descriptions opened before still reach this one
        self.former: set[Name] = set()


class HostWatches:
    def __init__(self):
        self.fd = hostcalls.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        self.by_name: dict[Name, int] = {}      # a covered name -> the host wd of its inode
        self.inodes: dict[int, HostInode] = {}  # host wd -> its names
        self.former: dict[Name, int] = {}       # a name -> the wd of the inode it meant before

    def watch(self, name: Name, host_fd: int) -> None:
        """Cover `name`, whose file is the host inode behind `host_fd` (any fd of it).
        OSError(ENOSPC) when the host's watch limit is reached."""
        wd = hostcalls.inotify_add_watch(self.fd, f"/proc/self/fd/{host_fd}", WATCHED)
        before = self.by_name.get(name)
        if before == wd:
            return
        older = self.former.pop(name, None)
        if older is not None:
            self.inodes[older].former.discard(name)
        if before is not None:  # the name means another inode now: a copy-up
            self.inodes[before].names.discard(name)
            self.inodes[before].former.add(name)
            self.former[name] = before
        self.by_name[name] = wd
        inode = self.inodes.get(wd)
        if inode is None:
            st = os.fstat(host_fd)
            inode = self.inodes[wd] = HostInode((st.st_dev, st.st_ino))
        inode.names.add(name)
        if older is not None:
            self._release(older)

    def drop(self, name: Name) -> None:
        """`name` is no longer covered."""
        wd = self.by_name.pop(name, None)
        if wd is not None:
            self.inodes[wd].names.discard(name)
            self._release(wd)
        self._forget_former(name)

    def _forget_former(self, name: Name) -> None:
        wd = self.former.pop(name, None)
        if wd is not None:
            self.inodes[wd].former.discard(name)
            self._release(wd)

    def unlink(self, name: Name, keep: bool) -> None:
        """`name` was unlinked; `keep`: as a gone name of its inode."""
        wd = self.by_name.pop(name, None)
        if wd is not None:
            inode = self.inodes[wd]
            inode.names.discard(name)
            if keep:
                inode.gone.add(name)
            self._release(wd)
        self._forget_former(name)

    def forget_gone(self, keep) -> None:
        """Drop the gone names `keep(name)` no longer wants."""
        for wd, inode in list(self.inodes.items()):
            if inode.gone:
                inode.gone = {n for n in inode.gone if keep(n)}
                self._release(wd)

    def rename(self, mount_id: int, old: str, new: str, exchange: bool) -> None:
        """`old` is now `new` (and the reverse for an exchange): a file's name
        moves, and so does every name beneath a directory, gone ones too (a
        gone name at `old` itself belongs to another, unlinked file: it stays)."""
        pairs = ((old, new), (new, old)) if exchange else ((old, new),)

        def moved(name: Name, gone: bool = False) -> Name:
            mid, path = name
            if mid == mount_id:
                for a, b in pairs:
                    if path == a and not gone:
                        return mid, b
                    if path.startswith(a + "/"):
                        return mid, b + path[len(a):]
            return name

        self.by_name = {moved(n): wd for n, wd in self.by_name.items()}
        self.former = {moved(n): wd for n, wd in self.former.items()}
        for inode in self.inodes.values():
            inode.names = {moved(n) for n in inode.names}
            inode.former = {moved(n) for n in inode.former}
            inode.gone = {moved(n, gone=True) for n in inode.gone}

    def _release(self, wd: int) -> None:
        inode = self.inodes[wd]
        if not inode.names and not inode.gone and not inode.former:
            del self.inodes[wd]
            try:
                hostcalls.inotify_rm_watch(self.fd, wd)
            except OSError as exc:  # the host ended it already: the inode died
                if exc.errno != errno.EINVAL:
                    raise

    def read(self) -> list[tuple[int, int]]:
        """The host's waiting events, oldest first, as (wd, mask); (-1,
        IN_Q_OVERFLOW) when the host lost some. A watch the host ended (its
        inode died) is forgotten here."""
        out = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            at = 0
            while at < len(data):
                wd, mask, _cookie, length = EVENT.unpack_from(data, at)
                at += EVENT.size + length
                if mask & IN_IGNORED:
                    inode = self.inodes.pop(wd, None)
                    for name in inode.names if inode is not None else ():
                        del self.by_name[name]
                    for name in inode.former if inode is not None else ():
                        del self.former[name]
                elif mask & IN_Q_OVERFLOW or wd in self.inodes:
                    out.append((wd, mask & (WATCHED | IN_Q_OVERFLOW)))
