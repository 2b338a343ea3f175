"""File locks on host-backed files: the sandbox's own, kept here (fs/locks.c's part).

A lock is kernel state on an inode, so a lock the host kernel keeps on a
host file (the root of `do`, a container's rootfs, a bind mount's source)
is shared with every host process: a sandbox could refuse a host `flock
-n`, and a host process could make the sandbox wait. So for files the
gofer donated, every flock, POSIX record lock and OFD lock is kept in this
table, per sandbox, keyed by the host inode (st_dev, st_ino) of the file
behind the open description: two opens of one file meet here, host
processes never do. Files the sandbox alone can reach (its tmpfs inodes,
memfds, pipes, sockets) keep their native locks (`syscalls/file.py`
decides which is which).

The three kinds, as Linux has them:

- flock locks belong to the open file description (the `OpenFile`): shared
  or exclusive over the whole file; asking again converts (dropping the
  old lock first, as Linux does); they go when no fd of the description
  is left in the sandbox.
- POSIX record locks belong to the process's fd table (Linux's
  `files_struct`): byte ranges, split and merged per owner; a conflict
  reports the setter's virtual pid; they all go when the owner closes
  *any* fd of the file, and at exit.
- OFD locks are POSIX-style ranges owned by the open description (F_GETLK
  reports pid -1); they conflict with POSIX locks of other owners and go
  with the description.

flock and POSIX locks never conflict with each other (Linux keeps them on
separate lists). Leases are refused by the handler; nothing is kept here.

A request that must wait is a `Waiter`: the handler parks the call and the
table answers it (`granted(result)`) when a release lets it through, in
the order the waiters came. The table knows nothing of platforms or
signals: the handler cancels a waiter a signal interrupted.

Everything runs on the sentry's one loop: no locking of the table itself.
"""
from __future__ import annotations

import errno
import os
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs import store

F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
OFFSET_MAX = (1 << 63) - 1
MAX_DEADLK_ITERATIONS = 10   # as fs/locks.c follows a wait-for chain


def key_of(st: os.stat_result):
    """The lock table's key for the host file with status `st`, or None when its
    locks may stay native: an inode no host process can reach (the sandbox's
    tmpfs, a memfd), or no file at all (pipes, sockets, anonymous inodes)."""
    kind = statmod.S_IFMT(st.st_mode)
    if kind not in (statmod.S_IFREG, statmod.S_IFDIR, statmod.S_IFCHR, statmod.S_IFBLK):
        return None
    if st.st_dev in store.private_devices():
        return None
    return (st.st_dev, st.st_ino)


def dir_key(mount_dev: int, ino: int):
    """A directory's key: the sandbox's own (mount, inode), never native. A
    directory fd's host object is not the directory (the sentry serves
    directories itself), so its host locks would join unrelated ones."""
    return ("dir", mount_dev, ino)


def range_of(l_type: int, whence: int, l_start: int, l_len: int, pos, size) -> tuple[int, int]:
    """A struct flock's range as [start, end] (flock64_to_posix_lock): `pos` and
    `size` are called for SEEK_CUR and SEEK_END. EINVAL for a bad whence, a
    range before 0 or a bad type, EOVERFLOW past the largest offset."""
    if whence == os.SEEK_SET:
        base = 0
    elif whence == os.SEEK_CUR:
        base = pos()
    elif whence == os.SEEK_END:
        base = size()
    else:
        raise SyscallError(errno.EINVAL)
    if l_start > OFFSET_MAX - base:
        raise SyscallError(errno.EOVERFLOW)
    start = base + l_start
    if start < 0:
        raise SyscallError(errno.EINVAL)
    if l_len > 0:
        if l_len - 1 > OFFSET_MAX - start:
            raise SyscallError(errno.EOVERFLOW)
        end = start + l_len - 1
    elif l_len < 0:
        if start + l_len < 0:
            raise SyscallError(errno.EINVAL)
        start, end = start + l_len, start - 1
    else:
        end = OFFSET_MAX
    if l_type not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise SyscallError(errno.EINVAL)
    return start, end


class RangeLock:
    """A POSIX or OFD lock: [start, end] inclusive, end OFFSET_MAX = to EOF and beyond."""

    __slots__ = ("owner", "ofd", "type", "start", "end", "pid")

    def __init__(self, owner, ofd: bool, type_: int, start: int, end: int, pid: int):
        self.owner = owner    # an FdTable (POSIX) or an OpenFile (OFD)
        self.ofd = ofd
        self.type = type_
        self.start = start
        self.end = end
        self.pid = pid        # the setter's virtual pid (POSIX), -1 (OFD)

    def overlaps(self, other: "RangeLock") -> bool:
        return self.start <= other.end and other.start <= self.end

    def conflicts(self, other: "RangeLock") -> bool:
        return (self.owner is not other.owner and self.overlaps(other)
                and F_WRLCK in (self.type, other.type))


class Waiter:
    """A parked request: `granted(result)` answers it (0, or -errno such as EDEADLK)."""

    __slots__ = ("key", "flock", "file", "type", "request", "granted", "tid")

    def __init__(self, key, *, flock: bool, file=None, type_: int = 0,
                 request: RangeLock | None = None, tid: int = 0):
        self.key = key
        self.tid = tid            # the waiting task
        self.granted = None       # set by whoever parks the call
        self.flock = flock
        self.file = file          # a flock request's open description
        self.type = type_         # a flock request's F_RDLCK / F_WRLCK
        self.request = request    # a range request


class InodeLocks:
    __slots__ = ("flocks", "ranges", "waiters")

    def __init__(self):
        self.flocks: dict[int, tuple] = {}      # id(OpenFile) -> (OpenFile, F_RDLCK/F_WRLCK)
        self.ranges: list[RangeLock] = []
        self.waiters: list[Waiter] = []

    def empty(self) -> bool:
        return not (self.flocks or self.ranges or self.waiters)


class LockTable:
    def __init__(self):
        self._inodes: dict[tuple[int, int], InodeLocks] = {}

    def _inode(self, key) -> InodeLocks:
        locks = self._inodes.get(key)
        if locks is None:
            locks = self._inodes[key] = InodeLocks()
        return locks

    def _tidy(self, key) -> None:
        locks = self._inodes.get(key)
        if locks is not None and locks.empty():
            del self._inodes[key]

    @staticmethod
    def holds_posix(owner) -> bool:
        """Whether the fd table `owner` holds any POSIX lock (a close of any fd may release it)."""
        return owner is not None and owner.posix_locks > 0

    # -- flock -------------------------------------------------------------

    def flock(self, key, file, type_: int, waiter: Waiter | None = None) -> int | None:
        """flock(2) on the description `file`: 0, or None when `waiter` now waits.
        Without a waiter a conflict raises EWOULDBLOCK (LOCK_NB)."""
        locks = self._inode(key)
        held = locks.flocks.get(id(file))
        if held is not None:
            if held[1] == type_:
                return 0
            del locks.flocks[id(file)]     # a conversion drops the old lock first
        try:
            if type_ == F_UNLCK:
                return 0
            if self._flock_free(locks, file, type_):
                locks.flocks[id(file)] = (file, type_)
                return 0
            if waiter is None:
                raise SyscallError(errno.EWOULDBLOCK)
            locks.waiters.append(waiter)
            return None
        finally:
            if held is not None:   # others waiting may get in now (a downgrade, a failed upgrade)
                self._wake(key)
            self._tidy(key)

    @staticmethod
    def _flock_free(locks: InodeLocks, file, type_: int) -> bool:
        return all(other is file or (type_ == F_RDLCK and t == F_RDLCK)
                   for other, t in locks.flocks.values())

    # -- POSIX and OFD record locks ------------------------------------------

    def test(self, key, request: RangeLock) -> RangeLock | None:
        """F_GETLK: the first lock that would conflict with `request`, or None."""
        locks = self._inodes.get(key)
        if locks is None:
            return None
        found = [lock for lock in locks.ranges if lock.conflicts(request)]
        return min(found, key=lambda lock: lock.start) if found else None

    def set(self, key, request: RangeLock, waiter: Waiter | None = None) -> int | None:
        """F_SETLK(W) / F_OFD_SETLK(W): 0, or None when `waiter` now waits.
        A conflict without a waiter raises EAGAIN; a wait that would close a
        cycle of POSIX owners raises EDEADLK."""
        locks = self._inode(key)
        if request.type != F_UNLCK:
            blocker = next((lock for lock in locks.ranges if lock.conflicts(request)), None)
            if blocker is not None:
                if waiter is None:
                    self._tidy(key)
                    raise SyscallError(errno.EAGAIN)
                if not request.ofd and self._would_deadlock(request.owner, blocker):
                    self._tidy(key)
                    raise SyscallError(errno.EDEADLK)
                locks.waiters.append(waiter)
                return None
        if self._place(locks, request):
            self._wake(key)
        self._tidy(key)
        return 0

    def _place(self, locks: InodeLocks, req: RangeLock) -> bool:
        """Put `req` among its owner's locks, splitting and merging as
        posix_lock_inode does; True if any byte was unlocked or downgraded."""
        released = False
        kept: list[RangeLock] = []
        start, end = req.start, req.end
        for lock in locks.ranges:
            if lock.owner is not req.owner:
                kept.append(lock)
                continue
            if lock.type == req.type and req.type != F_UNLCK and \
                    lock.start <= end + 1 and start <= lock.end + 1:
                start, end = min(start, lock.start), max(end, lock.end)   # merge
                continue
            if not lock.overlaps(RangeLock(None, False, 0, start, end, 0)):
                kept.append(lock)
                continue
            released = released or lock.type == F_WRLCK or req.type == F_UNLCK
            if lock.start < start:     # the part before the new range stays
                kept.append(RangeLock(lock.owner, lock.ofd, lock.type, lock.start, start - 1, lock.pid))
            if lock.end > end:         # and the part after it
                kept.append(RangeLock(lock.owner, lock.ofd, lock.type, end + 1, lock.end, lock.pid))
        if req.type != F_UNLCK:
            kept.append(RangeLock(req.owner, req.ofd, req.type, start, end, req.pid))
        before = sum(1 for lock in locks.ranges if lock.owner is req.owner)
        after = sum(1 for lock in kept if lock.owner is req.owner)
        locks.ranges = sorted(kept, key=lambda lock: lock.start)
        if not req.ofd:
            self._count_posix(req.owner, after - before)
        return released

    @staticmethod
    def _count_posix(owner, delta: int) -> None:
        owner.posix_locks = max(0, owner.posix_locks + delta)

    def _would_deadlock(self, caller, blocker: RangeLock) -> bool:
        """posix_locks_deadlock: does the owner of `blocker` wait, through a
        chain of POSIX owners, for `caller`?"""
        for _ in range(MAX_DEADLK_ITERATIONS):
            if blocker.ofd:
                return False
            if blocker.owner is caller:
                return True
            nxt = None
            for key, locks in self._inodes.items():
                for w in locks.waiters:
                    if w.request is not None and not w.request.ofd and w.request.owner is blocker.owner:
                        nxt = next((lock for lock in locks.ranges if lock.conflicts(w.request)), None)
                        break
                if nxt is not None:
                    break
            if nxt is None:
                return False
            blocker = nxt
        return False

    # -- releases -------------------------------------------------------------

    def closed(self, key, owner, description_gone: bool, file) -> None:
        """A process (fd table `owner`) closed an fd of the file `key`: its
        POSIX locks there go; if it was the description's last fd, its flock
        and OFD locks go too."""
        locks = self._inodes.get(key)
        if locks is None:
            return
        changed = False
        if self.holds_posix(owner):
            mine = [lock for lock in locks.ranges if lock.owner is owner and not lock.ofd]
            if mine:
                locks.ranges = [lock for lock in locks.ranges if lock not in mine]
                self._count_posix(owner, -len(mine))
                changed = True
        if description_gone:
            if locks.flocks.pop(id(file), None) is not None:
                changed = True
            ofd = [lock for lock in locks.ranges if lock.owner is file]
            if ofd:
                locks.ranges = [lock for lock in locks.ranges if lock.owner is not file]
                changed = True
            for w in [w for w in locks.waiters if w.file is file or
                      (w.request is not None and w.request.owner is file)]:
                locks.waiters.remove(w)   # no fd left to wait on (it was passed away)
        if changed:
            self._wake(key)
        self._tidy(key)

    def owner_gone(self, owner) -> None:
        """Every fd of the fd table `owner` is gone (its processes exited): its POSIX locks go."""
        if not self.holds_posix(owner):
            return
        for key, locks in list(self._inodes.items()):
            mine = [lock for lock in locks.ranges if lock.owner is owner and not lock.ofd]
            if mine:
                locks.ranges = [lock for lock in locks.ranges if lock not in mine]
                self._wake(key)
                self._tidy(key)
        owner.posix_locks = 0

    def task_gone(self, tid: int) -> None:
        """A task died while it waited: drop its wait."""
        for locks in list(self._inodes.values()):
            for w in [w for w in locks.waiters if w.tid == tid]:
                self.cancel(w)

    def cancel(self, waiter: Waiter) -> None:
        """The waiting call ended otherwise (a signal, its task died)."""
        locks = self._inodes.get(waiter.key)
        if locks is not None and waiter in locks.waiters:
            locks.waiters.remove(waiter)
            self._tidy(waiter.key)

    def _wake(self, key) -> None:
        """Something was released on `key`: let through, in order, every waiter
        that now can (a granted request may itself release bytes: go again)."""
        progress = True
        while progress:
            progress = False
            locks = self._inodes.get(key)
            if locks is None or not locks.waiters:
                return
            for w in list(locks.waiters):
                if w not in locks.waiters:
                    continue
                if w.flock:
                    if self._flock_free(locks, w.file, w.type):
                        locks.waiters.remove(w)
                        locks.flocks[id(w.file)] = (w.file, w.type)
                        w.granted(0)
                    continue
                blocker = next((lock for lock in locks.ranges if lock.conflicts(w.request)), None)
                if blocker is None:
                    locks.waiters.remove(w)
                    progress = self._place(locks, w.request) or progress
                    w.granted(0)
                elif not w.request.ofd and self._would_deadlock(w.request.owner, blocker):
                    locks.waiters.remove(w)   # as the retried vfs_lock_file would find
                    w.granted(-errno.EDEADLK)
