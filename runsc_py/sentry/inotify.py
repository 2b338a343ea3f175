"""inotify on the sentry's filesystems: events for what the sentry sees
happen, and for the reads and writes it does not see, which the host sees.

An inotify instance is a host pipe: the workload holds the read end at its
guest fd, so read, poll and epoll on it are native (and IN_NONBLOCK is the
pipe's O_NONBLOCK); the sentry holds the write end, non-blocking, and
writes `struct inotify_event`s into it. The sentry makes every change of
the tree and sees every open, close and directory read, so it raises
IN_CREATE, IN_DELETE, IN_MOVED_FROM/IN_MOVED_TO (with one cookie),
IN_ATTRIB, IN_OPEN, IN_CLOSE_WRITE/IN_CLOSE_NOWRITE (when a description's
last fd goes), IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED, IN_ACCESS of a
directory listed (getdents64) and IN_ACCESS/IN_MODIFY of the attribute
changes that mean them (truncate, an open with O_TRUNC, utimensat of one
time). A full pipe loses events and
queues IN_Q_OVERFLOW, as a full queue does on Linux; an event identical to
the last one still unread (same wd, mask and name) is merged into it, as
Linux's inotify_merge does.

Native reads and writes (IN_ACCESS, IN_MODIFY of regular files) run in the
workload, where the sentry never sees them; the host does. Every *name* a
workload watch with IN_ACCESS or IN_MODIFY in its mask covers -- the
watched file, and each regular file directly in a watched directory, made,
linked or moved there later too -- has its host inode watched by the
sentry's own host inotify instance (`HostWatches`, inotify_host.py), kept
right as names come and go, files are copied up and watches change. A host
event becomes the workload's: for the file's own watches, and for the
directory of the name it was opened by, with that name, as Linux reports
to the opened dentry's parent. Which name that was the host does not say:
the sentry looks for the sandbox's open descriptions of that inode (noted
at open) that could make the access; when two, opened by different names,
could, both names' directories hear it, and when none is left (a process
gone), every watched name's does.

The host queues an event in the write itself, the sentry reads it later
(its loop watches the host fd), so the sentry *drains* the host instance
as every call it answers begins and before anything it raises outside one:
a write made before a call is reported before what the call raises
(IN_MODIFY before IN_CLOSE_WRITE), as on Linux. What the sentry itself
does to a file's bytes (a truncate it makes, a copy-up) is not native
I/O and is not reported as such. Files the sentry serves itself (procfs,
sysfs, devfs's devices) have no host inode to watch: no IN_ACCESS or
IN_MODIFY from their reads and writes.

Watches are keyed by mount and path within it; a rename moves the watches
beneath it to the new path, as it moves open files (VFS.renamed).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import select
import stat as statmod
import struct

from runsc_py.sentry.errors import SyscallError

IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x1, 0x2, 0x4, 0x8
IN_CLOSE_NOWRITE, IN_OPEN, IN_MOVED_FROM, IN_MOVED_TO = 0x10, 0x20, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED = 0x2000, 0x4000, 0x8000
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK = 0x01000000, 0x02000000, 0x04000000
IN_MASK_CREATE, IN_MASK_ADD, IN_ISDIR, IN_ONESHOT = 0x10000000, 0x20000000, 0x40000000, 0x80000000
IN_ALL_EVENTS = 0xFFF
ALWAYS = IN_IGNORED | IN_Q_OVERFLOW | IN_UNMOUNT  # delivered whatever the mask
NATIVE_IO = IN_ACCESS | IN_MODIFY  # what only the host sees
EVENT = struct.Struct("<iIII")
FIONREAD = 0x541B
DT_REG = 8
_NOTHING = contextlib.nullcontext(lambda _host_fd: None)


class Watch:
    __slots__ = ("wd", "mask")

    def __init__(self, wd: int, mask: int):
        self.wd = wd
        self.mask = mask


class Inotify:
    """One inotify instance: its pipe's write end and its watches."""

    def __init__(self, write_fd: int, table: "InotifyTable | None" = None):
        self.write_fd = write_fd
        self.table = table  # told when the workload closed every copy of the read end
        self.watches: dict[tuple[int, str], Watch] = {}  # (mount id, path) -> watch
        self._wds = itertools.count(1)
        self.overflowed = False
        self.closed = False
        self._last: tuple | None = None  # (wd, mask, name) of the last event written
        self._last_size = 0

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

    def remove(self, wd: int) -> tuple[int, str] | None:
        """Drop watch `wd` (IN_IGNORED); returns the key it had, None if there is none."""
        for key, watch in list(self.watches.items()):
            if watch.wd == wd:
                del self.watches[key]
                self.send(wd, IN_IGNORED)
                return key
        return None

    def send(self, wd: int, mask: int, cookie: int = 0, name: str = "") -> None:
        if self.closed:
            return
        raw = os.fsencode(name)
        if raw:
            raw += bytes(EVENT.size - len(raw) % EVENT.size)  # NUL-padded, as Linux pads
        last = (wd, mask, raw)
        if last == self._last and not mask & IN_IGNORED and self._unread() >= self._last_size:
            return  # the same as the last event, still unread: Linux merges them
        event = EVENT.pack(wd, mask, cookie, len(raw)) + raw
        try:
            if self.overflowed:
                os.write(self.write_fd, EVENT.pack(-1, IN_Q_OVERFLOW, 0, 0))
                self.overflowed = False
            os.write(self.write_fd, event)
            self._last, self._last_size = last, len(event)
        except BlockingIOError:
            self.overflowed = True
            self._last = None
        except BrokenPipeError:  # the workload closed every copy of the read end
            self.close()

    def _unread(self) -> int:
        """How many bytes the workload has not read yet."""
        return struct.unpack("<i", fcntl.ioctl(self.write_fd, FIONREAD, bytes(4)))[0]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.write_fd)
            if self.table is not None:
                self.table.instance_closed(self)


class InotifyTable:
    """Every instance of the sandbox, and the one place events are raised."""

    def __init__(self, mount_by_id=lambda mount_id: None):
        self.instances: list[Inotify] = []
        self._cookies = itertools.count(1)
        self._mount_by_id = mount_by_id   # the VFS's: a mount, by its id
        self.host_watches = None         # inotify_host.HostWatches, made at the first need
        # set by the Kernel: how to have the loop call us when the host fd is
        # readable, and every open file description of the sandbox
        self.loop_watch = None
        self.open_files = lambda: ()
        self._draining = False
        self._openers = None  # while draining: host inode or name -> the descriptions open on it
        self._closing: set[int] = set()  # host tids that closed an inotify fd
        self.settled = False  # drained as the call being answered began (the Kernel resets it)

    def new(self) -> tuple[Inotify, int]:
        """A new instance; returns it and the read end for the workload."""
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(write_fd, False)
        instance = Inotify(write_fd, self)
        self.instances = [i for i in self.instances if not i.closed] + [instance]
        return instance, read_fd

    def watching(self) -> bool:
        """Whether any instance watches anything (an open replayed in C makes no event)."""
        return any(i.watches and not i.closed for i in self.instances)

    # -- watches --------------------------------------------------------------

    def add_watch(self, instance: Inotify, key: tuple[int, str], mask: int) -> int:
        """inotify_add_watch: EEXIST (FileExistsError) for IN_MASK_CREATE on a
        watched file; ENOSPC when the host cannot watch what it covers."""
        self.drain()
        before = instance.watches.get(key)
        before_mask = before.mask if before is not None else None
        wd = instance.add(key, mask)
        try:
            self._watches_changed(key, added=True)
        except OSError as exc:
            if before is None:
                del instance.watches[key]
            else:
                before.mask = before_mask
            self._watches_changed(key, added=False)
            raise SyscallError(errno.ENOSPC if exc.errno in (errno.ENOSPC, errno.EMFILE,
                                                             errno.ENFILE) else exc.errno) from None
        return wd

    def remove_watch(self, instance: Inotify, wd: int) -> bool:
        """inotify_rm_watch: False when `wd` is not a watch of the instance."""
        self.drain()
        return self._unwatch(instance, wd)

    def _unwatch(self, instance: Inotify, wd: int) -> bool:
        key = instance.remove(wd)
        if key is None:
            return False
        self._watches_changed(key, added=False)
        return True

    def instance_closed(self, instance: Inotify) -> None:
        keys = list(instance.watches)
        instance.watches.clear()
        for key in keys:
            self._watches_changed(key, added=False)

    def closing(self, tid: int) -> None:
        """`tid` is closing a guest fd of an instance; it may be its last."""
        if self.host_watches is not None:
            self._closing.add(tid)

    def reap(self) -> None:
        """Close the instances whose read end the workload no longer has
        anywhere (its pipe's write end polls POLLERR), and drop their watches."""
        live = [i for i in self.instances if not i.closed and i.watches and i.write_fd >= 0]
        if not live:
            return
        poller = select.poll()
        for instance in live:
            poller.register(instance.write_fd, 0)
        gone = {fd for fd, events in poller.poll(0) if events & select.POLLERR}
        for instance in live:
            if instance.write_fd in gone:
                instance.close()

    def settle(self, tid: int) -> None:
        """Before a call the sentry answers: what the workload did natively
        before it comes first; an instance `tid` closed is gone by now."""
        if tid in self._closing:
            self._closing.discard(tid)
            self.reap()
        self.drain()
        self.settled = True

    def _drain_first(self) -> None:
        """Before an event the sentry raises: what the host saw first comes
        first. Within a call the sentry answers that was done as the call
        began (`settle`), and only the sentry's own I/O, which is not
        reported, or another thread's, which is not ordered, came since."""
        if not self.settled:
            self.drain()

    # -- events the sentry raises ---------------------------------------------

    def _deliver(self, key: tuple[int, str], mask: int, cookie: int = 0, name: str = "",
                 unlinked: bool = False) -> None:
        for instance in self.instances:
            watch = instance.watches.get(key)
            if watch is None or not (watch.mask & mask & IN_ALL_EVENTS or mask & ALWAYS):
                continue
            if unlinked and watch.mask & IN_EXCL_UNLINK:
                continue
            instance.send(watch.wd, mask, cookie, name)
            if watch.mask & IN_ONESHOT:
                self._unwatch(instance, watch.wd)

    def event(self, mount_id: int, path: str, mask: int, is_dir: bool = False, cookie: int = 0,
              unlinked: bool = False) -> None:
        """`mask` happened to `path` (within mount): tell watchers of it and of
        its directory (unless `unlinked`, the name removed since, and the
        directory's watch has IN_EXCL_UNLINK)."""
        if not self.instances:
            return
        self._drain_first()
        flag = IN_ISDIR if is_dir else 0
        parent, _, name = path.rpartition("/")
        if path:
            self._deliver((mount_id, parent), mask | flag, cookie, name, unlinked)
        if not mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO):
            for name in self._same_file((mount_id, path)):
                self._deliver(name, mask | flag, cookie)
        if mask & IN_CREATE and not is_dir and self.host_watches is not None:
            self._cover((mount_id, path))

    def inode_event(self, mount_id: int, path: str, mask: int) -> None:
        """`mask` happened to the file itself, not to a name in its directory
        (Linux's fsnotify_inode: a link count): only its own watches hear it."""
        if self.instances:
            self._drain_first()
            for name in self._same_file((mount_id, path)):
                self._deliver(name, mask)

    def _same_file(self, name: tuple[int, str]) -> list:
        """`name` and the other names of its file that watches cover (hard
        links: a watch is on the file, whichever name it was added by). Only
        the host watches know which names are one file, so only covered ones."""
        wd = self.host_watches.by_name.get(name) if self.host_watches is not None else None
        return [name] if wd is None else sorted(self.host_watches.inodes[wd].names)

    def removed(self, mount_id: int, path: str, is_dir: bool) -> None:
        if not self.instances:
            return
        for file in self.open_files():  # what they raise now is an unlinked child's
            if file.mount is not None and file.mount.mount_id == mount_id and file.rel == path:
                file.unlinked = True
        self.event(mount_id, path, IN_DELETE, is_dir)
        if self.host_watches is not None and not is_dir:
            name = (mount_id, path)
            self.host_watches.unlink(name, keep=self._keeps_unlinked(name))
        self._self_gone(mount_id, path, IN_DELETE_SELF)

    def moved(self, mount_id: int, old: str, new: str, is_dir: bool, exchange: bool = False) -> None:
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
        if self.host_watches is not None:
            self._names_moved(mount_id, old, new, is_dir, exchange)

    def _self_gone(self, mount_id: int, path: str, mask: int) -> None:
        for instance in self.instances:
            watch = instance.watches.get((mount_id, path))
            if watch is not None:
                instance.send(watch.wd, mask)
                self._unwatch(instance, watch.wd)

    # -- native reads and writes: the host's events ---------------------------------

    def opened(self, file, host_fd: int) -> None:
        """`file` was opened as `host_fd`: note its host inode (which names a
        native access came through), and if it is covered, watch the inode
        the workload gets (an overlay open for writing copies the file up)."""
        if self.host_watches is None:
            return
        st = os.fstat(host_fd)
        if not statmod.S_ISREG(st.st_mode):
            return
        file.host_ino = (st.st_dev, st.st_ino)
        name = (file.mount.mount_id, file.rel)
        wd = self.host_watches.by_name.get(name)
        if wd is not None and self.host_watches.inodes[wd].ino == file.host_ino:
            return  # watched already, and the same file
        if self._covers(name):
            self._cover(name, host_fd)

    def quiet(self, mount_id: int, path: str):
        """A context for the sentry's own I/O on the file at `path` (a
        truncate): what the host reports of that file meanwhile is not the
        workload's doing. It gives a callable to name the file's host fd by,
        where the I/O opened one (an open with O_TRUNC)."""
        if self.host_watches is None:
            return _NOTHING
        return self._quiet((mount_id, path))

    @contextlib.contextmanager
    def _quiet(self, name: tuple[int, str]):
        self.drain()
        noted: list[int] = []
        try:
            yield noted.append
        finally:
            self.drain(discard=self._host_ino(name, noted[0] if noted else None))

    def _host_ino(self, name: tuple[int, str], host_fd: int | None) -> tuple[int, int] | None:
        """(st_dev, st_ino) of the host inode behind `host_fd`, or else behind `name`."""
        if host_fd is None:
            mount = self._mount_by_id(name[0])
            fd = mount.fs.host_inode(name[1]) if mount is not None else None
            if fd is None:
                return None
            try:
                st = os.fstat(fd)
            finally:
                os.close(fd)
        else:
            st = os.fstat(host_fd)
        return st.st_dev, st.st_ino

    def drain(self, discard: tuple[int, int] | None = None) -> None:
        """Deliver what the host has seen so far (but what it saw of the host
        inode (st_dev, st_ino) `discard`)."""
        if self.host_watches is None or self._draining:
            return
        self._draining = True
        self._openers = None
        try:
            for wd, mask in self.host_watches.read():
                inode = self.host_watches.inodes.get(wd)
                if discard is None or inode is None or inode.ino != discard:
                    self._native(wd, mask)
        finally:
            self._draining = False
            self._openers = None

    def _on_host_events(self, _events: int) -> None:
        self.drain()

    def _native(self, wd: int, mask: int) -> None:
        """The host saw `mask` (IN_ACCESS or IN_MODIFY) happen to the inode of host watch `wd`."""
        if mask & IN_Q_OVERFLOW:
            for instance in self.instances:
                if any(w.mask & NATIVE_IO for w in instance.watches.values()):
                    instance.send(-1, IN_Q_OVERFLOW)
            return
        inode = self.host_watches.inodes.get(wd)
        if inode is None:
            return
        live, gone = inode.names | inode.former, set(inode.gone)
        names = live | gone
        through = self._opened_through(inode.ino, names, mask)
        if through is not None:
            names &= through
        for mount_id, path in sorted(names):  # its directory's watches first, as Linux does
            parent, _, base = path.rpartition("/")
            if path:
                self._deliver((mount_id, parent), mask, 0, base, (mount_id, path) in gone)
        for name in sorted(live):
            self._deliver(name, mask)

    def _opened_through(self, ino: tuple[int, int], names: set, mask: int) -> set | None:
        """The names by which the sandbox's open descriptions of the file that
        could make `mask` (IN_MODIFY: writable, IN_ACCESS: readable) were
        opened (Linux reports to the directory of the name the file was opened
        by), or None when none is known: a description opened before the host
        watches began is known by its name alone, and one the sandbox no longer
        has (passed away, or the access came through a mapping) not at all."""
        if self._openers is None:  # once per drain
            self._openers = {}
            for file in self.open_files():
                if file.mount is not None and not file.flags & os.O_PATH and file.kind == "file":
                    key = file.host_ino or (file.mount.mount_id, file.rel)
                    self._openers.setdefault(key, []).append(
                        ((file.mount.mount_id, file.rel), file.flags & os.O_ACCMODE))
        modes = (os.O_WRONLY, os.O_RDWR) if mask & IN_MODIFY else (os.O_RDONLY, os.O_RDWR)
        found = {name for name, mode in self._openers.get(ino, ()) if mode in modes}
        for name in names:
            found |= {n for n, mode in self._openers.get(name, ()) if mode in modes}
        return found or None

    # -- which names are covered ----------------------------------------------------

    def _covers(self, name: tuple[int, str]) -> bool:
        """Whether a watch wanting IN_ACCESS or IN_MODIFY is on `name` or on its directory."""
        mount_id, path = name
        parent = (mount_id, path.rpartition("/")[0]) if path else None
        for instance in self.instances:
            if instance.closed:
                continue
            watch = instance.watches.get(name)
            if watch is not None and watch.mask & NATIVE_IO:
                return True
            watch = instance.watches.get(parent) if parent is not None else None
            if watch is not None and watch.mask & NATIVE_IO:
                return True
        return False

    def _keeps_unlinked(self, name: tuple[int, str]) -> bool:
        """Whether a directory watch still wants events of `name` once it is
        unlinked (its mask wants them, without IN_EXCL_UNLINK)."""
        mount_id, path = name
        parent = (mount_id, path.rpartition("/")[0])
        for instance in self.instances:
            watch = instance.watches.get(parent) if not instance.closed else None
            if watch is not None and watch.mask & NATIVE_IO and not watch.mask & IN_EXCL_UNLINK:
                return True
        return False

    def _watches_changed(self, key: tuple[int, str], added: bool) -> None:
        """A watch on `key` was added, changed or removed: cover what it
        now covers, let go of what nothing covers. OSError(ENOSPC) when the
        host cannot watch another inode."""
        if self.host_watches is None:
            if not added or not self._covers(key):
                return
            self._start()
        names = {key} | {n for n in self.host_watches.by_name
                         if n[0] == key[0] and n[1] and n[1].rpartition("/")[0] == key[1]}
        if added and self._covers(key):
            names |= self._children(key)
        for name in sorted(names):
            if added:
                self._refresh(name)
            elif not self._covers(name):
                self.host_watches.drop(name)
        self.host_watches.forget_gone(self._keeps_unlinked)

    def _start(self) -> None:
        from runsc_py.sentry.inotify_host import HostWatches

        host = HostWatches()
        try:
            if self.loop_watch is not None:
                self.loop_watch(host.fd, self._on_host_events)
        except OSError:
            os.close(host.fd)
            raise
        self.host_watches = host

    def _children(self, key: tuple[int, str]) -> set:
        """The regular files directly in the directory `key` (none if it is not one)."""
        mount = self._mount_by_id(key[0])
        try:
            entries = mount.fs.readdir(key[1]) if mount is not None else []
        except SyscallError:  # not a directory
            return set()
        prefix = key[1] + "/" if key[1] else ""
        return {(key[0], prefix + os.fsdecode(name)) for _ino, dtype, name in entries
                if dtype == DT_REG}

    def _refresh(self, name: tuple[int, str], host_fd: int | None = None) -> None:
        """Watch the inode at `name` if it is covered, else let it go."""
        if not self._covers(name):
            self.host_watches.drop(name)
            return
        fd = host_fd
        if fd is None:
            mount = self._mount_by_id(name[0])
            fd = mount.fs.host_inode(name[1]) if mount is not None else None
            if fd is None:  # gone, not a regular file, or served by the sentry itself
                self.host_watches.drop(name)
                return
        try:
            self.host_watches.watch(name, fd)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise
            self.host_watches.drop(name)  # the host would not watch it (EACCES): no events
        finally:
            if host_fd is None:
                os.close(fd)

    def _cover(self, name: tuple[int, str], host_fd: int | None = None) -> None:
        """A name appeared or changed files: cover it; if the host cannot,
        the events it would have had are lost (IN_Q_OVERFLOW)."""
        try:
            self._refresh(name, host_fd)
        except OSError:
            for instance in self.instances:
                parent = (name[0], name[1].rpartition("/")[0])
                if name in instance.watches or parent in instance.watches:
                    instance.send(-1, IN_Q_OVERFLOW)

    def _names_moved(self, mount_id: int, old: str, new: str, is_dir: bool, exchange: bool) -> None:
        host = self.host_watches
        old_name, new_name = (mount_id, old), (mount_id, new)
        if host.by_name.get(old_name) is not None and host.by_name.get(old_name) == host.by_name.get(new_name):
            return  # two names of one file: rename does nothing
        if not exchange and not is_dir and new_name in host.by_name:
            host.unlink(new_name, keep=self._keeps_unlinked(new_name))  # the file renamed over
        host.rename(mount_id, old, new, exchange)
        if not is_dir:
            self._cover(new_name)
        if exchange:
            self._cover(old_name)
        host.forget_gone(self._keeps_unlinked)
