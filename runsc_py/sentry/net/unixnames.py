"""Unix socket names: where a bound unix socket can be found by connect/sendto.

Abstract names (a leading NUL) live in the sandbox's own table. Path names
are keyed by the socket file's canonical guest path. A path name is not
yet a file: `bind_path` checks that the parent directory exists in the
sandbox's VFS and that nothing is at the path, and records the socket
here; `find_path` looks it up (so `stat`/`unlink` of the path do not see
it). When the VFS can create socket inodes, `bind_path` will create one
(honouring read-only mounts, EEXIST and permissions) and `find_path` will
resolve the path to that inode; nothing else needs to change. A name whose socket no fd refers to any more is dropped
when next looked at (Linux keeps the file until unlink; without a writable
file system there is nothing to unlink).
"""
from __future__ import annotations

import errno
import posixpath
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.net.sockaddr import UnixAddress


class UnixNames:
    def __init__(self, vfs, alive):
        self._vfs = vfs
        self._alive = alive
        self._bound: dict[bytes, object] = {}   # abstract name or canonical path -> Socket

    def bind(self, sock, addr: UnixAddress, cwd: str) -> UnixAddress:
        """Record `sock` under addr's name; returns the address as the socket reports it."""
        key = addr.name if addr.abstract else self.bind_path(cwd, addr.name)
        held = self._bound.get(key)
        if held is not None and self._alive(held):
            raise SyscallError(errno.EADDRINUSE)
        self._bound[key] = sock
        return addr

    def find(self, addr: UnixAddress, cwd: str):
        """The live socket bound to addr's name (ECONNREFUSED or ENOENT if none)."""
        key = addr.name if addr.abstract else self.find_path(cwd, addr.name)
        sock = self._bound.get(key)
        if sock is None or not self._alive(sock):
            self._bound.pop(key, None)
            raise SyscallError(errno.ECONNREFUSED if addr.abstract else errno.ENOENT)
        return sock

    def bind_path(self, cwd: str, path: bytes) -> bytes:
        """The key for binding `path`: its canonical guest path (the VFS seam)."""
        key = self._canonical(cwd, path)
        try:
            self._vfs.resolve("/", key.decode("utf-8", "surrogateescape"), follow=False)
        except SyscallError as exc:
            if exc.errno != errno.ENOENT:
                raise
        else:
            if key not in self._bound:
                raise SyscallError(errno.EADDRINUSE)
        return key

    def find_path(self, cwd: str, path: bytes) -> bytes:
        """The key of the socket at `path` (the VFS seam)."""
        return self._canonical(cwd, path)

    def bound(self):
        for key, sock in list(self._bound.items()):
            if self._alive(sock):
                yield key, sock

    def _canonical(self, cwd: str, path: bytes) -> bytes:
        if not path:
            raise SyscallError(errno.ENOENT)
        text = path.decode("utf-8", "surrogateescape")
        parent, name = posixpath.split(text.rstrip("/") or "/")
        res = self._vfs.resolve(cwd, parent or ".")
        if not statmod.S_ISDIR(res.stat.mode):
            raise SyscallError(errno.ENOTDIR)
        return posixpath.join(res.path, name).encode("utf-8", "surrogateescape")
