"""The container's root (or a bind mount) as served by the gofer process.

Attributes are cached here (a dentry cache): every lookup that does not
open, and every directory listing (which the gofer sends with each entry's
attributes, readdirplus), fills it, so `stat` of a known path costs no
gofer round trip. This assumes the sandbox has the tree to itself, as
gVisor's default `--file-access=exclusive` does; a path the gofer later
reports missing is dropped. Opens always go to the gofer: they need an fd.
"""
from __future__ import annotations

import collections
import errno

from runsc_py.gofer.client import GoferClient
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.vfs import Filesystem, Lookup

CACHE_ENTRIES = 65536


class GoferFilesystem(Filesystem):
    fstype = "9p"  # what gVisor calls its gofer mounts

    def __init__(self, client: GoferClient, readonly: bool):
        self.client = client
        self.readonly = readonly
        self._cache: collections.OrderedDict[str, Lookup] = collections.OrderedDict()

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        if open_flags < 0:
            hit = self._cache.get(path)
            if hit is not None:
                return hit
        try:
            answer = self.client.lookup(path, open_flags)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                self._cache.pop(path, None)
            raise
        if answer[0] == "symlink":
            return Lookup("symlink", consumed=answer[1], target=answer[2])
        _kind, st, target, fd = answer
        self._remember(path, Lookup("found", stat=st, target=target))
        return Lookup("found", stat=st, target=target, fd=fd)

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        out = []
        prefix = path + "/" if path else ""
        for name, st, target in self.client.readdir(path):
            if st is None:
                continue  # vanished between the listing and its stat
            self._remember(prefix + name.decode("utf-8", "surrogateescape"),
                           Lookup("found", stat=st, target=target))
            out.append((st.ino, (st.mode >> 12) & 0o17, name))
        return out

    def _remember(self, path: str, found: Lookup) -> None:
        self._cache[path] = found
        if len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
