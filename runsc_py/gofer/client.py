"""The sentry's side of the gofer protocol: blocking, bounded local RPCs.

A gofer call never waits on anything but the host file system (FIFOs are
opened non-blocking), so the sentry calls it synchronously from its loop.
If the gofer dies, every call raises GoferGone and the sentry fails closed.
"""
from __future__ import annotations

import array
import os
import socket

from runsc_py._interpose import ffi, lib
from runsc_py.gofer import protocol as p
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat

# Memory that is not zeroed first: a large allocation is fresh pages from
# the host, faulted in only where a reply is written.
_UNCLEARED = ffi.new_allocator(should_clear_after_alloc=False)


class GoferGone(Exception):
    """The gofer process is gone: the sandbox must stop."""


class GoferClient:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        # One receive buffer for every reply: a fresh one per call cost an
        # mmap/munmap pair and ~60 us (measured). Not a bytearray, which
        # zeroes all 2 MiB: 512 page faults, 1-3 ms of every sandbox's
        # start-up, for replies that mostly fill one page.
        self._buf = _UNCLEARED("char[]", p.MAX_MESSAGE)
        self._view = memoryview(ffi.buffer(self._buf))
        self._ancillary = socket.CMSG_SPACE(4 * array.array("i").itemsize)

    def _call(self, request: bytes, send_fd: int = -1) -> tuple[memoryview, list[int]]:
        try:
            if send_fd >= 0:
                socket.send_fds(self.sock, [request], [send_fd])
            else:
                self.sock.send(request)
            n, ancdata, _flags, _addr = self.sock.recvmsg_into([self._view], self._ancillary)
        except OSError as exc:
            raise GoferGone(str(exc)) from exc
        if not n:
            raise GoferGone("the gofer hung up")
        fds = _fds_of(ancdata)
        msg = self._view[:n]
        err, kind = p.REPLY.unpack_from(msg)
        if err:
            for fd in fds:
                os.close(fd)
            raise SyscallError(err)
        return msg, fds

    def lookup(self, path: str, open_flags: int = -1, mount: int = 0):
        """Walk `path`: ("found", stat, target, fd, listing) or ("symlink",
        consumed, target). `listing` is a directory's whole listing, as
        readdir gives it, when the open asked for a directory to read and
        it fitted in the reply; else None."""
        msg, fds = self._call(_request(p.LOOKUP, path, open_flags, mount=mount))
        _err, kind = p.REPLY.unpack_from(msg)
        at = p.REPLY.size
        if kind == p.SYMLINK:
            (consumed,) = p.CONSUMED.unpack_from(msg, at)
            return ("symlink", consumed, bytes(msg[at + p.CONSUMED.size:]).decode("utf-8", "surrogateescape"))
        st = p.unpack_stat(msg, at)
        fd = fds[0] if fds else None
        if kind == p.LISTED:
            more, listing = _entries(msg, at + p.STAT.size)
            return ("found", st, None, fd, None if more else listing)
        target = bytes(msg[at + p.STAT.size:]).decode("utf-8", "surrogateescape") or None
        return ("found", st, target, fd, None)

    def readdir(self, path: str, mount: int = 0) -> list[tuple[bytes, Stat | None, str | None]]:
        """(name, lstat attributes or None if it vanished, link target) per entry."""
        entries: list[tuple[bytes, Stat | None, str | None]] = []
        while True:
            msg, _fds = self._call(_request(p.READDIR, path, -1, len(entries), mount))
            more, chunk = _entries(msg, p.REPLY.size)
            entries += chunk
            if not more:
                return entries

    def change(self, op: int, path: str, mount: int = 0, arg: int = 0, head: bytes = b"",
               second: str | None = None, open_flags: int = -1,
               send_fd: int = -1) -> tuple[Stat | None, int | None]:
        """One of protocol.CHANGES; returns (stat, fd) for CREATE, else (None, None)."""
        msg, fds = self._call(_request(op, path, open_flags, arg, mount, head, second), send_fd)
        if op not in (p.CREATE, p.TMPFILE):
            return None, None
        return p.unpack_stat(msg, p.REPLY.size), fds[0]

    def statfs(self, mount: int = 0) -> tuple[int, ...]:
        msg, _fds = self._call(_request(p.STATFS, "", mount=mount))
        return p.STATFS_REPLY.unpack_from(msg, p.REPLY.size)


def _fds_of(ancdata) -> list[int]:
    fds: list[int] = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", data[: len(data) - len(data) % 4]))
    return fds


def _request(*args, **kwargs) -> bytes:
    """A request naming the CPU the sentry runs on, for the gofer to keep to
    (csrc/interpose.c, rp_current_cpu, says why)."""
    return p.pack_request(*args, **kwargs, cpu=lib.rp_current_cpu())


def _entries(msg: memoryview, at: int) -> tuple[bool, list[tuple[bytes, Stat | None, str | None]]]:
    """An ENTRIES body from `at`: whether more follow, and the entries."""
    more = bool(msg[at])
    at += 1
    entries = []
    while at < len(msg):
        _ino, dtype, n, nlink = p.DIRENT.unpack_from(msg, at)
        at += p.DIRENT.size
        name = bytes(msg[at: at + n])
        at += n
        st = p.unpack_stat(msg, at) if dtype else None
        at += p.STAT.size
        target = bytes(msg[at: at + nlink]).decode("utf-8", "surrogateescape") if nlink else None
        at += nlink
        entries.append((name, st, target))
    return more, entries
