"""Fd tables and open file descriptions.

The sentry's FdTable is the kernel of record for which guest fd names
which OpenFile. The *bytes* live elsewhere: every guest fd is a real host
fd installed in the workload at the same number, so the data path runs
natively. The workload holds the only host reference; when the sentry needs
the host object (fstat, dup into another number, a directory's offset) it
borrows it with pidfd_getfd. So closing the last guest copy of a pipe's
write end gives its reader EOF, exactly as on Linux.

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

    __slots__ = ("kind", "path", "flags", "mount", "rel", "node", "dir_entries")

    def __init__(self, kind: str, path: str = "", flags: int = 0, mount=None, rel: str = "",
                 node=None, dir_entries: list | None = None):
        self.kind = kind
        self.path = path                # the guest path it was opened by
        self.flags = flags              # open(2) flags
        self.mount = mount              # sentry.vfs.Mount for files of a mount
        self.rel = rel                  # the path within that mount
        self.node = node                # the filesystem's handle on the file, if it keeps one
        self.dir_entries = dir_entries  # a directory's listing, read once

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
    __slots__ = ("file", "cloexec")

    def __init__(self, file: OpenFile, cloexec: bool = False):
        self.file = file
        self.cloexec = cloexec


class FdTable:
    def __init__(self, limit: int = 1024):
        self.entries: dict[int, FdEntry] = {}
        self.quarantine: dict[int, int] = {}  # fd -> host tid whose native close is in flight
        self.limit = limit

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

    def install(self, fd: int, file: OpenFile, cloexec: bool = False) -> None:
        self.entries[fd] = FdEntry(file, cloexec)
        self.quarantine.pop(fd, None)

    def close(self, fd: int, closing_tid: int) -> FdEntry:
        """Drop `fd`; the caller's native close will finish the job on the host."""
        entry = self.get(fd)
        del self.entries[fd]
        self.quarantine[fd] = closing_tid
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

    def fork(self) -> "FdTable":
        """A copy for a child process: same open file descriptions, own numbers."""
        table = FdTable(self.limit)
        table.entries = {fd: FdEntry(e.file, e.cloexec) for fd, e in self.entries.items()}
        return table

    def on_exec(self) -> None:
        """Exec closed every close-on-exec fd (natively); forget them."""
        self.entries = {fd: e for fd, e in self.entries.items() if not e.cloexec}
        self.quarantine.clear()
