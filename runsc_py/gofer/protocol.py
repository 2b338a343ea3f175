"""The gofer protocol: one SOCK_SEQPACKET message per request and per reply.

Request:  op (u8), mount (u8: which of the gofer's roots), open_flags
          (i32, -1 = do not open), arg (u32: READDIR's offset, a mode, or
          rename's flags), cpu (i16: the CPU the sentry keeps to, which the
          gofer moves to as well; -1 = none), then the body: the path *within that root*: names
          joined by "/", never "." or "..", never a leading "/" ("" is the
          root itself). Calls that take more put it before the path:
          OWNER (uid, gid) for CREATE, TMPFILE, MKDIR, MKNOD and MKSYMLINK;
          ATTRS for SETATTR; and RENAME, LINK and MKSYMLINK append NUL and a
          second path (or the link text).
Reply:    errno (i32; 0 = success), kind (u8), then a body by kind:
          FOUND      stat, then the symlink target if the file is a symlink
          LISTED     a directory opened for reading: stat, then its first
                     entries as ENTRIES gives them (more, entries), read
                     from the opened fd, which is back at offset 0: a walk's
                     open and first getdents64 in one round trip
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
CREATE = 3    # make a regular file (arg: mode) and open it: a FOUND reply with the fd
MKDIR = 4     # arg: mode
MKNOD = 5     # a FIFO or socket file (arg: mode with its type)
MKSYMLINK = 6  # path, NUL, link text
LINK = 7      # existing path, NUL, new path
UNLINK = 8
RMDIR = 9
RENAME = 10   # old path, NUL, new path (arg: RENAME_NOREPLACE/EXCHANGE)
SETATTR = 11  # ATTRS: which fields, then mode, uid, gid, size, atime, mtime
STATFS = 12   # reply body: STATFS
TMPFILE = 13  # an unnamed file in a directory (arg: mode), opened: like CREATE
LINKFD = 14   # give the file sent with the request (SCM_RIGHTS) the name `path`
CHANGES = (CREATE, MKDIR, MKNOD, MKSYMLINK, LINK, UNLINK, RMDIR, RENAME, SETATTR, TMPFILE, LINKFD)

FOUND = 0
SYMLINK = 1
ENTRIES = 2
LISTED = 3

REQUEST = struct.Struct("<BBiIh")
OWNER = struct.Struct("<II")
ATTRS = struct.Struct("<BIIIqqq")   # mask, then the fields the mask names
ATTR_MODE, ATTR_UID, ATTR_GID, ATTR_SIZE, ATTR_ATIME, ATTR_MTIME = 1, 2, 4, 8, 16, 32
STATFS_REPLY = struct.Struct("<qqQQQQQq")  # type, bsize, blocks, bfree, bavail, files, ffree, flags
REPLY = struct.Struct("<iB")
CONSUMED = struct.Struct("<H")
DIRENT = struct.Struct("<QBHH")
STAT = struct.Struct("<IQQQIIQqqqqqq")
ENTRIES_PER_REPLY = 400  # worst case (255-byte names, 4 KiB link targets) still fits
MAX_MESSAGE = 2 * 1024 * 1024


def pack_request(op: int, path: str, open_flags: int = -1, arg: int = 0, mount: int = 0,
                 head: bytes = b"", second: str | None = None, cpu: int = -1) -> bytes:
    body = path.encode("utf-8", "surrogateescape")
    if second is not None:
        body += b"\0" + second.encode("utf-8", "surrogateescape")
    return REQUEST.pack(op, mount, open_flags, arg, cpu) + head + body


def unpack_request(msg: bytes) -> tuple[int, int, int, int, int, bytes]:
    """(op, mount, open_flags, arg, cpu, body): the body holds any head, then the path(s)."""
    op, mount, open_flags, arg, cpu = REQUEST.unpack_from(msg)
    return op, mount, open_flags, arg, cpu, msg[REQUEST.size:]


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def pack_stat(st: Stat) -> bytes:
    return STAT.pack(*st)


def unpack_stat(buf: bytes, at: int) -> Stat:
    return Stat(*STAT.unpack_from(buf, at))
