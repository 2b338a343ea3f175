"""The gofer protocol: one SOCK_SEQPACKET message per request and per reply.

Request:  op (u8), open_flags (i32, -1 = do not open), offset (u32),
          then the path *within the gofer's root*: names joined by "/",
          never "." or "..", never a leading "/" ("" is the root itself).
Reply:    errno (i32; 0 = success), kind (u8), then a body by kind:
          FOUND      stat, then the symlink target if the file is a symlink
          SYMLINK    consumed (u16): how many names of the path were walked
                     up to and including a symlink met mid-path; then its target
          ENTRIES    more (u8), then entries: ino (u64), d_type (u8),
                     name length (u16), link length (u16), name, stat,
                     link target (readdirplus: the sentry caches the
                     attributes, so `ls -l` and `find` need no more calls)
An opened file travels with a FOUND reply as SCM_RIGHTS.
"""
from __future__ import annotations

import struct

from runsc_py.sentry.stat import Stat

LOOKUP = 1    # walk a path; open its final file when open_flags >= 0
READDIR = 2   # list a directory from `offset`

FOUND = 0
SYMLINK = 1
ENTRIES = 2

REQUEST = struct.Struct("<BiI")
REPLY = struct.Struct("<iB")
CONSUMED = struct.Struct("<H")
DIRENT = struct.Struct("<QBHH")
STAT = struct.Struct("<IQQQIIQqqqqqq")
ENTRIES_PER_REPLY = 400  # worst case (255-byte names, 4 KiB link targets) still fits
MAX_MESSAGE = 2 * 1024 * 1024


def pack_request(op: int, path: str, open_flags: int = -1, offset: int = 0) -> bytes:
    return REQUEST.pack(op, open_flags, offset) + path.encode("utf-8", "surrogateescape")


def unpack_request(msg: bytes) -> tuple[int, str, int, int]:
    op, open_flags, offset = REQUEST.unpack_from(msg)
    return op, msg[REQUEST.size:].decode("utf-8", "surrogateescape"), open_flags, offset


def pack_stat(st: Stat) -> bytes:
    return STAT.pack(*st)


def unpack_stat(buf: bytes, at: int) -> Stat:
    return Stat(*STAT.unpack_from(buf, at))
