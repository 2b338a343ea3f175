"""The container's root (or a bind mount) as served by the gofer process."""
from __future__ import annotations

from runsc_py.gofer.client import GoferClient
from runsc_py.sentry.vfs import Lookup


class GoferFilesystem:
    def __init__(self, client: GoferClient, readonly: bool):
        self.client = client
        self.readonly = readonly

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        answer = self.client.lookup(path, open_flags)
        if answer[0] == "symlink":
            return Lookup("symlink", consumed=answer[1], target=answer[2])
        _kind, st, target, fd = answer
        return Lookup("found", stat=st, target=target, fd=fd)

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        return self.client.readdir(path)
