"""inotify on the sentry's filesystems: events for what the sentry sees happen.

An inotify instance is a host pipe: the workload holds the read end at its
guest fd, so read, poll and epoll on it are native (and IN_NONBLOCK is the
pipe's O_NONBLOCK); the sentry holds the write end, non-blocking, and
writes `struct inotify_event`s into it. The sentry makes every change of
the tree and sees every open and close, so it delivers IN_CREATE,
IN_DELETE, IN_MOVED_FROM/IN_MOVED_TO (with one cookie), IN_ATTRIB, IN_OPEN,
IN_CLOSE_WRITE/IN_CLOSE_NOWRITE, IN_DELETE_SELF, IN_MOVE_SELF and
IN_IGNORED. It never sees a native read or write, so IN_ACCESS and
IN_MODIFY come only from truncate. A full pipe loses events and queues
IN_Q_OVERFLOW, as a full queue does on Linux.

Watches are keyed by mount and path within it; a rename moves the watches
beneath it to the new path.
"""
from __future__ import annotations

import itertools
import os
import struct

IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x1, 0x2, 0x4, 0x8
IN_CLOSE_NOWRITE, IN_OPEN, IN_MOVED_FROM, IN_MOVED_TO = 0x10, 0x20, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED = 0x2000, 0x4000, 0x8000
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK = 0x01000000, 0x02000000, 0x04000000
IN_MASK_CREATE, IN_MASK_ADD, IN_ISDIR, IN_ONESHOT = 0x10000000, 0x20000000, 0x40000000, 0x80000000
IN_ALL_EVENTS = 0xFFF
ALWAYS = IN_IGNORED | IN_Q_OVERFLOW | IN_UNMOUNT  # delivered whatever the mask
EVENT = struct.Struct("<iIII")


class Watch:
    __slots__ = ("wd", "mask")

    def __init__(self, wd: int, mask: int):
        self.wd = wd
        self.mask = mask


class Inotify:
    """One inotify instance: its pipe's write end and its watches."""

    def __init__(self, write_fd: int):
        self.write_fd = write_fd
        self.watches: dict[tuple[int, str], Watch] = {}  # (mount id, path) -> watch
        self._wds = itertools.count(1)
        self.overflowed = False
        self.closed = False

    def add(self, key: tuple[int, str], mask: int) -> int:
        watch = self.watches.get(key)
        if watch is not None:
            if mask & IN_MASK_CREATE:
                raise FileExistsError
            watch.mask = (watch.mask | mask) if mask & IN_MASK_ADD else mask
            return watch.wd
        watch = Watch(next(self._wds), mask)
        self.watches[key] = watch
        return watch.wd

    def remove(self, wd: int) -> bool:
        for key, watch in list(self.watches.items()):
            if watch.wd == wd:
                del self.watches[key]
                self.send(wd, IN_IGNORED)
                return True
        return False

    def send(self, wd: int, mask: int, cookie: int = 0, name: str = "") -> None:
        if self.closed:
            return
        raw = os.fsencode(name)
        if raw:
            raw += bytes(EVENT.size - len(raw) % EVENT.size)  # NUL-padded, as Linux pads
        event = EVENT.pack(wd, mask, cookie, len(raw)) + raw
        try:
            if self.overflowed:
                os.write(self.write_fd, EVENT.pack(-1, IN_Q_OVERFLOW, 0, 0))
                self.overflowed = False
            os.write(self.write_fd, event)
        except BlockingIOError:
            self.overflowed = True
        except BrokenPipeError:  # the workload closed every copy of the read end
            self.closed = True
            os.close(self.write_fd)


class InotifyTable:
    """Every instance of the sandbox, and the one place events are raised."""

    def __init__(self):
        self.instances: list[Inotify] = []
        self._cookies = itertools.count(1)

    def new(self) -> tuple[Inotify, int]:
        """A new instance; returns it and the read end for the workload."""
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(write_fd, False)
        instance = Inotify(write_fd)
        self.instances = [i for i in self.instances if not i.closed] + [instance]
        return instance, read_fd

    def watching(self) -> bool:
        """Whether any instance watches anything (an open replayed in C makes no event)."""
        return any(i.watches and not i.closed for i in self.instances)

    def _deliver(self, key: tuple[int, str], mask: int, cookie: int = 0, name: str = "") -> None:
        for instance in self.instances:
            watch = instance.watches.get(key)
            if watch is None or not (watch.mask & mask & IN_ALL_EVENTS or mask & ALWAYS):
                continue
            instance.send(watch.wd, mask, cookie, name)
            if watch.mask & IN_ONESHOT:
                instance.remove(watch.wd)

    def event(self, mount_id: int, path: str, mask: int, is_dir: bool = False, cookie: int = 0) -> None:
        """`mask` happened to `path` (within mount): tell watchers of it and of its directory."""
        if not self.instances:
            return
        flag = IN_ISDIR if is_dir else 0
        parent, _, name = path.rpartition("/")
        if path:
            self._deliver((mount_id, parent), mask | flag, cookie, name)
        if not mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO):
            self._deliver((mount_id, path), mask | flag, cookie)

    def removed(self, mount_id: int, path: str, is_dir: bool) -> None:
        self.event(mount_id, path, IN_DELETE, is_dir)
        self._self_gone(mount_id, path, IN_DELETE_SELF)

    def moved(self, mount_id: int, old: str, new: str, is_dir: bool) -> None:
        if not self.instances:
            return
        cookie = next(self._cookies)
        self.event(mount_id, old, IN_MOVED_FROM, is_dir, cookie)
        self.event(mount_id, new, IN_MOVED_TO, is_dir, cookie)
        self._deliver((mount_id, old), IN_MOVE_SELF)
        for instance in self.instances:  # the watches move with the files
            for (mid, path), watch in list(instance.watches.items()):
                if mid == mount_id and (path == old or path.startswith(old + "/")):
                    del instance.watches[(mid, path)]
                    instance.watches[(mid, new + path[len(old):])] = watch

    def _self_gone(self, mount_id: int, path: str, mask: int) -> None:
        for instance in self.instances:
            watch = instance.watches.get((mount_id, path))
            if watch is not None:
                instance.send(watch.wd, mask)
                instance.remove(watch.wd)
