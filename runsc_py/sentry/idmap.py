"""A container's user namespace mappings (linux.uidMappings/gidMappings).

The sandbox's ids are the container's: its processes' credentials, and
the owners files show. A host file's owner is a host id, so where files
cross from the gofer into the sentry their owners are translated, as the
kernel translates them for a process in a user namespace: a host id the
mapping covers shows as its container id, any other as the overflow id
(65534). An owner going out (a new file's, a chown's) is translated back;
a container id the mapping does not cover is EINVAL for a chown and
EOVERFLOW for a new file, as Linux gives them.
"""
from __future__ import annotations

import errno

from runsc_py.sentry.errors import SyscallError

OVERFLOW_ID = 65534


class IdMap:
    """One of the two mappings: (container id, host id, size) ranges."""

    def __init__(self, ranges: list[tuple[int, int, int]]):
        self.ranges = ranges

    def to_container(self, host_id: int) -> int:
        for inside, outside, size in self.ranges:
            if outside <= host_id < outside + size:
                return inside + host_id - outside
        return OVERFLOW_ID

    def to_host(self, container_id: int, unmapped: int = errno.EINVAL) -> int:
        for inside, outside, size in self.ranges:
            if inside <= container_id < inside + size:
                return outside + container_id - inside
        raise SyscallError(unmapped)

    def render(self) -> bytes:
        """/proc/PID/uid_map's (or gid_map's) text."""
        return "".join(f"{inside:>10} {outside:>10} {size:>10}\n"
                       for inside, outside, size in self.ranges).encode()


class IdMappings:
    """The uid and gid mappings of one sandbox."""

    def __init__(self, uids: IdMap, gids: IdMap):
        self.uids = uids
        self.gids = gids

    def shown(self, st):
        """A host Stat as the container sees it."""
        return st._replace(uid=self.uids.to_container(st.uid), gid=self.gids.to_container(st.gid))

    def owner(self, uid: int, gid: int) -> tuple[int, int]:
        """A new file's owner (the caller's fsuid, fsgid) on the host."""
        return (self.uids.to_host(uid, errno.EOVERFLOW), self.gids.to_host(gid, errno.EOVERFLOW))
