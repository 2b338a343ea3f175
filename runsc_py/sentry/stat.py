"""File attributes as the sentry keeps them, and their Linux x86_64 encodings."""
from __future__ import annotations

import collections
import os
import struct
import time

# struct stat on x86_64 (144 bytes)
_STAT = struct.Struct("<QQQIIIxxxxQqqqqQqQqQ24x")
# struct statx (256 bytes): mask, blksize, attributes, nlink, uid, gid, mode,
# ino, size, blocks, attributes_mask, 4 timestamps, rdev/dev major:minor
_STATX_HEAD = struct.Struct("<IIQIIIH2xQQQQ")
_STATX_TS = struct.Struct("<qI4x")
_STATX_DEV = struct.Struct("<IIII")
_STATX_MNT_ID = struct.Struct("<Q")
STATX_BASIC_STATS = 0x7FF
STATX_MNT_ID = 0x1000
STATX_SIZE = 256


class Stat(collections.namedtuple(
        "Stat",
        "mode ino dev nlink uid gid rdev size blksize blocks atime_ns mtime_ns ctime_ns")):
    __slots__ = ()
    # fields:
    # mode: int
    # ino: int
    # dev: int
    # nlink: int
    # uid: int
    # gid: int
    # rdev: int
    # size: int
    # blksize: int
    # blocks: int
    # atime_ns: int
    # mtime_ns: int
    # ctime_ns: int

    @classmethod
    def from_os(cls, st: os.stat_result) -> "Stat":
        return cls(st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid,
                   st.st_rdev, st.st_size, st.st_blksize, st.st_blocks,
                   st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)

    def pack(self) -> bytes:
        """As `struct stat` for stat/fstat/lstat/newfstatat."""
        a, m, c = (divmod(t, 10**9) for t in (self.atime_ns, self.mtime_ns, self.ctime_ns))
        return _STAT.pack(self.dev, self.ino, self.nlink, self.mode, self.uid, self.gid,
                          self.rdev, self.size, self.blksize, self.blocks,
                          a[0], a[1], m[0], m[1], c[0], c[1])

    def pack_statx(self, mount_id: int | None = None) -> bytes:
        """As `struct statx` with the basic fields filled, and stx_mnt_id
        (mountinfo's first field) when the file is on a mount."""
        mask = STATX_BASIC_STATS | (STATX_MNT_ID if mount_id is not None else 0)
        head = _STATX_HEAD.pack(mask, self.blksize, 0, self.nlink, self.uid,
                                self.gid, self.mode, self.ino, self.size, self.blocks, 0)
        times = b"".join(_STATX_TS.pack(*divmod(t, 10**9)) for t in
                         (self.atime_ns, self.ctime_ns, self.ctime_ns, self.mtime_ns))
        devs = _STATX_DEV.pack(os.major(self.rdev), os.minor(self.rdev),
                               os.major(self.dev), os.minor(self.dev))
        out = head + times + devs + _STATX_MNT_ID.pack(mount_id or 0)
        return out + bytes(STATX_SIZE - len(out))

    def with_dev(self, dev: int) -> "Stat":
        return self._replace(dev=dev)


RELATIME_AGE_NS = 24 * 3600 * 10**9


def relatime_moves(atime_ns: int, mtime_ns: int, ctime_ns: int) -> bool:
    """Linux's relatime (the default mount option): an access moves the
    access time only if it is not after the last modification or change, or
    is a day old."""
    return atime_ns <= mtime_ns or atime_ns <= ctime_ns \
        or time.time_ns() - atime_ns >= RELATIME_AGE_NS
