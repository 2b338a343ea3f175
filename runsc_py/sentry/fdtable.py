"""Fd tables and open file descriptions.

The sentry's FdTable is the kernel of record for which guest fd names
which OpenFile. The *bytes* live elsewhere: every guest fd is a real host
fd installed in the workload at the same number, so the data path runs
natively. The workload holds the only host reference; when the sentry needs
the host object (fstat, dup into another number, a directory's offset) it
borrows it with pidfd_getfd. So closing the last guest copy of a pipe's
write end gives its reader EOF, exactly as on Linux.

An O_PATH file is the exception: seccomp's ADDFD refuses O_PATH files
(its fget() skips them), and no other host object fails every data call
with EBADF as an O_PATH fd does. So an O_PATH guest fd is *unbacked*: the
workload's host fd table has nothing at that number, and the host answers
read, write, lseek, mmap, fsync, flock... on it with EBADF (poll with
POLLNVAL), exactly Linux's answers; the sentry answers the rest by the
file's path. The host must then never choose that number itself, so the C
fast path's opens (which let the host pick the lowest free number) are off
for a table holding one (`unbacked`).

Closing is the one call the sentry cannot do for the workload: `close`
runs natively after the table drops the entry. Until the closing thread
makes its next trapped call, the number is *quarantined* — not handed to
another thread's open — so a racing install can never be closed by it.
"""
from __future__ import annotations

import errno
import os

from runsc_py.sentry.errors import SyscallError


class OpenFile:
    """An open file description as the sentry knows it.

    kind: "file", "dir", "pipe", "device", "host" (inherited from the caller
    of runsc-py, such as its stdio), "memfd", "epoll", "eventfd".
    """

    __slots__ = ("kind", "path", "flags", "mount", "rel", "node", "dir_entries", "unlinked",
                 "host_ino", "lock_key")

    def __init__(self, kind: str, path: str = "", flags: int = 0, mount=None, rel: str = "",
                 node=None, dir_entries: list | None = None):
        self.kind = kind
        self.path = path                # the guest path it was opened by
        self.flags = flags              # open(2) flags
        self.mount = mount              # sentry.vfs.Mount for files of a mount
        self.rel = rel                  # the path within that mount
        self.node = node                # the filesystem's handle on the file, if it keeps one
        self.dir_entries = dir_entries  # a directory's listing, read once
        self.unlinked = False           # its name was removed since (inotify's IN_EXCL_UNLINK)
        self.host_ino = None            # (st_dev, st_ino) of its host inode, if inotify asked
        self.lock_key = None            # its file's key in the lock table (sentry/locks.py):
                                        # None not asked yet, False: native locks (private)

    def copy(self, **changes) -> "OpenFile":
        """Another description like this one (a fresh open of the same file)."""
        twin = object.__new__(type(self))
        for cls in type(self).__mro__[:-1]:
            for name in cls.__slots__:
                setattr(twin, name, changes.get(name, getattr(self, name)))
        return twin

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind!r}, {self.path!r}, flags={self.flags:#o})"


class FdEntry:
    __slots__ = ("file", "cloexec", "backed")

    def __init__(self, file: OpenFile, cloexec: bool = False, backed: bool = True):
        self.file = file
        self.cloexec = cloexec
        self.backed = backed  # False: nothing at this number on the host (an O_PATH file)


class FdTable:
    def __init__(self, limit: int = 1024):
        self.entries: dict[int, FdEntry] = {}
        self.quarantine: dict[int, int] = {}  # fd -> host tid whose native close is in flight
        self.limit = limit
        self.unbacked = 0   # entries with nothing installed on the host
        self.posix_locks = 0   # POSIX record locks its processes hold (sentry/locks.py's count;
                               # not inherited by a fork, as on Linux)
        self.c_opens_off = False  # whether the C fast path was told not to open into it
        self.shared = False    # whether another process has used it (CLONE_FILES): for good,
                               # as the sentry does not count when the last one lets go

    @property
    def needs_c_opens_off(self) -> bool:
        """Whether the C fast path must not open into it: an unbacked (O_PATH)
        fd's host slot must stay empty, and with POSIX locks held any close of
        the file releases them (a close C answered would not tell the table)."""
        return self.unbacked > 0 or self.posix_locks > 0

    def get(self, fd: int) -> FdEntry:
        entry = self.entries.get(fd)
        if entry is None:
            raise SyscallError(errno.EBADF)
        return entry

    def file(self, fd: int) -> OpenFile:
        return self.get(fd).file

    def lowest_free(self, start: int = 0) -> int:
        if start >= self.limit or start < 0:
            raise SyscallError(errno.EINVAL)
        fd = start
        while fd in self.entries or fd in self.quarantine and not self._close_finished(fd):
            fd += 1
        if fd >= self.limit:
            raise SyscallError(errno.EMFILE)
        return fd

    def install(self, fd: int, file: OpenFile, cloexec: bool = False, backed: bool = True) -> None:
        old = self.entries.get(fd)
        if old is not None and not old.backed:
            self.unbacked -= 1
        self.entries[fd] = FdEntry(file, cloexec, backed)
        if not backed:
            self.unbacked += 1
        self.quarantine.pop(fd, None)

    def close(self, fd: int, closing_tid: int) -> FdEntry:
        """Drop `fd`; the caller's native close will finish the job on the host
        (an unbacked fd has nothing there: no close runs, nothing to wait for)."""
        entry = self.get(fd)
        del self.entries[fd]
        if entry.backed:
            self.quarantine[fd] = closing_tid
        else:
            self.unbacked -= 1
        return entry

    def _close_finished(self, fd: int) -> bool:
        """Whether the native close of quarantined `fd` is done although its thread
        made no call since: the host no longer has the number (or the thread is
        gone), as when a thread closes and exits before the sentry sees it exit."""
        try:
            os.lstat(f"/proc/{self.quarantine[fd]}/fd/{fd}")
            return False
        except OSError:
            del self.quarantine[fd]
            return True

    def settle(self, tid: int) -> None:
        """`tid` made another call, so any close it made has finished."""
        if self.quarantine:
            for fd in [fd for fd, t in self.quarantine.items() if t == tid]:
                del self.quarantine[fd]

    def share(self) -> "FdTable":
        """This table, for a process cloned with CLONE_FILES."""
        self.shared = True
        return self

    def fork(self) -> "FdTable":
        """A copy for a child process: same open file descriptions, own numbers."""
        table = FdTable(self.limit)
        table.entries = {fd: FdEntry(e.file, e.cloexec, e.backed) for fd, e in self.entries.items()}
        table.unbacked = self.unbacked
        return table

    def on_exec(self) -> None:
        """Exec closed every close-on-exec fd (natively); forget them."""
        self.entries = {fd: e for fd, e in self.entries.items() if not e.cloexec}
        self.unbacked = sum(1 for e in self.entries.values() if not e.backed)
        self.quarantine.clear()
