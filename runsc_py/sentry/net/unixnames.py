"""Unix socket names: where a bound unix socket can be found by connect/sendto.

Abstract names (a leading NUL) live in the sandbox's own table. A path
name is a socket file in the sandbox's VFS, as on Linux: `bind` makes it
with mknod(S_IFSOCK) through the sentry's namei (so EADDRINUSE for a name
that exists, EROFS, EACCES and the umask apply; on the overlay or a tmpfs
it is a node, through a writable bind mount a real socket file on the
host that nothing on the host can connect to), and the socket is recorded
by the file's identity (mount, inode). `connect` resolves the path
(following links, as Linux does) to a socket file and finds the socket
by that identity; `stat`, `ls` and `unlink` see the file, and once it is
unlinked the name reaches nothing. A record whose socket no fd refers to
any more is dropped when next looked at.
"""
from __future__ import annotations

import errno
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.net.sockaddr import UnixAddress


class UnixNames:
    def __init__(self, vfs, alive):
        self._vfs = vfs
        self._alive = alive
        # abstract name (bytes) or a socket file's (mount id, inode) -> Socket
        self._bound: dict[object, object] = {}

    def bind(self, sock, addr: UnixAddress, process):
        """Record `sock` under addr's name (making the socket file of a path
        name); returns the address as the socket reports it."""
        if addr.abstract:
            held = self._bound.get(addr.name)
            if held is not None and self._alive(held):
                raise SyscallError(errno.EADDRINUSE)
            self._bound[addr.name] = sock
            return addr
        self._bound[self._make_file(addr.name, process)] = sock
        return addr

    def find(self, addr: UnixAddress, process):
        """The live socket bound to addr's name (ECONNREFUSED or ENOENT if none)."""
        key = addr.name if addr.abstract else self._file_key(addr.name, process)
        sock = self._bound.get(key)
        if sock is None or not self._alive(sock):
            self._bound.pop(key, None)
            raise SyscallError(errno.ECONNREFUSED)
        return sock

    def _make_file(self, path: bytes, process) -> tuple[int, int]:
        from runsc_py.sentry import namei

        text = _path(path)
        try:
            namei.mknod(self._vfs, process.creds, process.fs.cwd, text,
                        statmod.S_IFSOCK | (0o777 & ~process.fs.umask), 0)
        except SyscallError as exc:
            raise SyscallError(errno.EADDRINUSE if exc.errno == errno.EEXIST else exc.errno) from None
        res = self._vfs.resolve(process.fs.cwd, text, follow=False)
        return res.mount.mount_id, res.stat.ino

    def _file_key(self, path: bytes, process) -> tuple[int, int]:
        res = self._vfs.resolve(process.fs.cwd, _path(path))
        if not statmod.S_ISSOCK(res.stat.mode):
            raise SyscallError(errno.ECONNREFUSED)
        return res.mount.mount_id, res.stat.ino

    def bound(self):
        for key, sock in list(self._bound.items()):
            if self._alive(sock):
                yield key, sock


def _path(path: bytes) -> str:
    if not path:
        raise SyscallError(errno.ENOENT)
    return path.decode("utf-8", "surrogateescape")
