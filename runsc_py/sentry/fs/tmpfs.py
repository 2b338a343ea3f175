"""tmpfs: a filesystem the sentry keeps in memory, with its bytes in host memory.

The tree (directories, names, modes, owners, links, symlinks, xattrs)
lives here as Node objects; the bytes of each regular file live in one
host inode from the FileStore (sentry/fs/store.py), which every open
re-opens, so read/write/mmap run natively and `mmap(MAP_SHARED)` of a file
sees what another process wrote. A regular file's size and times are
the host inode's (native writes change them); everything else is the Node's.

The overlay root (sentry/fs/overlay.py) uses a tmpfs as its upper layer,
and keeps its own marks on directories (whiteouts, where the lower
directory is) in the Node fields reserved for it.
"""
from __future__ import annotations

import errno
import itertools
import os
import stat as statmod
import time

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.store import TMPFS_MAGIC, FileStore, reopen, set_times, writable
from runsc_py.sentry.stat import Stat, relatime_moves
from runsc_py.sentry.vfs import (NAME_MAX, RENAME_EXCHANGE, Filesystem, Lookup, SetAttr, StatFs,
                                 check_rename)

BOGO_DIRENT_SIZE = 20   # Linux's tmpfs counts a directory's size in these
XATTR_CREATE, XATTR_REPLACE = 1, 2
OPEN_KEEPS = (os.O_ACCMODE | os.O_APPEND | os.O_NONBLOCK | os.O_NOATIME | os.O_DSYNC
              | os.O_SYNC | os.O_DIRECT | os.O_LARGEFILE)


class Node:
    """One inode. Which fields matter depends on the file type (mode)."""

    __slots__ = ("ino", "mode", "uid", "gid", "nlink", "rdev", "atime_ns", "mtime_ns",
                 "ctime_ns", "children", "target", "data_fd", "fifo", "socket", "xattrs",
                 "linkable", "whiteouts", "lower", "lower_ino")

    def __init__(self, ino: int, mode: int, uid: int, gid: int, rdev: int = 0):
        now = time.time_ns()
        self.ino, self.mode, self.uid, self.gid, self.rdev = ino, mode, uid, gid, rdev
        self.nlink = 2 if statmod.S_ISDIR(mode) else 1
        self.atime_ns = self.mtime_ns = self.ctime_ns = now
        self.children: dict[str, Node] | None = {} if statmod.S_ISDIR(mode) else None
        self.target: str | None = None        # symlink text
        self.data_fd: int | None = None       # regular file: the host inode (sentry's fd)
        self.fifo: str | None = None          # FIFO: its name in the store
        self.socket: object = None            # unix socket file: the network table's endpoint
        self.xattrs: dict[str, bytes] = {}
        self.linkable = False  # an O_TMPFILE without O_EXCL, never linked (Linux's I_LINKABLE)
        # overlay marks (sentry/fs/overlay.py), unused by a plain tmpfs:
        self.whiteouts: set[str] = set()      # lower names this directory hides
        self.lower: str | None = None         # the lower directory merged below, None: opaque
        self.lower_ino = 0                    # st_ino of the lower file this was copied from

    @property
    def is_dir(self) -> bool:
        return self.children is not None

    def touch(self, now: int | None = None) -> None:
        self.mtime_ns = self.ctime_ns = now or time.time_ns()


def touch_atime(node: Node) -> bool:
    """An access of `node`, as relatime has it. True if its atime moved."""
    if relatime_moves(node.atime_ns, node.mtime_ns, node.ctime_ns):
        node.atime_ns = time.time_ns()
        return True
    return False


class TmpFilesystem(Filesystem):
    readonly = False
    fstype = "tmpfs"
    magic = TMPFS_MAGIC
    names_stable = True

    def __init__(self, size: int | None = None, mode: int = 0o1777, uid: int = 0, gid: int = 0,
                 dir_fd_source=None, store_host: FileStore | None = None):
        self.store = FileStore(size, store_host)  # (store_host: fs/store.py)
        self.dir_fd_source = dir_fd_source  # a host directory fd for an opened directory
        self._inos = itertools.count(1)
        self.root = self.new_node(statmod.S_IFDIR | mode, uid, gid)

    def new_node(self, mode: int, uid: int, gid: int, rdev: int = 0) -> Node:
        return Node(next(self._inos), mode, uid, gid, rdev)

    # -- walking ----------------------------------------------------------

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        node = self.root
        names = path.split("/") if path else []
        for i, name in enumerate(names):
            if not node.is_dir:
                raise SyscallError(errno.ENOTDIR)
            child = node.children.get(name)
            if child is None:
                raise SyscallError(errno.ENOENT)
            if child.target is not None and i < len(names) - 1:
                return Lookup("symlink", consumed=i + 1, target=child.target)
            node = child
        fd = None
        if open_flags >= 0 and node.target is None:
            fd = self.open_node(node, open_flags)
        return Lookup("found", stat=self.stat_node(node), target=node.target, fd=fd, node=node)

    def node_at(self, path: str) -> Node:
        """The node at a resolved path (no symlink on the way)."""
        node = self.root
        for name in path.split("/") if path else []:
            if not node.is_dir or name not in node.children:
                raise SyscallError(errno.ENOENT)
            node = node.children[name]
        return node

    def parent_at(self, path: str) -> tuple[Node, str]:
        parent, _, name = path.rpartition("/")
        node = self.node_at(parent)
        if not node.is_dir:
            raise SyscallError(errno.ENOTDIR)
        if len(name) > NAME_MAX:
            raise SyscallError(errno.ENAMETOOLONG)
        return node, name

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        node = self.node_at(path)
        if not node.is_dir:
            raise SyscallError(errno.ENOTDIR)
        return [(child.ino, statmod.S_IFMT(child.mode) >> 12, os.fsencode(name))
                for name, child in node.children.items()]

    def listed(self, path: str) -> bool:
        return touch_atime(self.node_at(path))

    # -- opening ------------------------------------------------------------

    def open_node(self, node: Node, flags: int) -> int:
        kind = statmod.S_IFMT(node.mode)
        if kind == statmod.S_IFREG:
            fd = reopen(node.data_fd, flags & OPEN_KEEPS)
            if flags & os.O_TRUNC:  # whatever the access mode, as Linux's handle_truncate
                with writable(node.data_fd) as rw:
                    os.ftruncate(rw, 0)
            return fd
        if kind == statmod.S_IFDIR:
            if flags & os.O_ACCMODE:
                raise SyscallError(errno.EISDIR)
            return self.dir_fd_source()
        if kind == statmod.S_IFIFO:
            return self.store.open_fifo(node.fifo, flags & OPEN_KEEPS)
        raise SyscallError(errno.ENXIO)  # sockets; device nodes are never made here

    # -- attributes ---------------------------------------------------------

    def stat_node(self, node: Node) -> Stat:
        size, blocks = 0, 0
        atime, mtime, ctime = node.atime_ns, node.mtime_ns, node.ctime_ns
        if node.data_fd is not None:
            host = os.fstat(node.data_fd)  # native writes change size and times
            size, blocks = host.st_size, host.st_blocks
            mtime = max(mtime, host.st_mtime_ns)
            ctime = max(ctime, host.st_ctime_ns)
            atime = max(atime, host.st_atime_ns)
        elif node.is_dir:
            size = (len(node.children) + 2) * BOGO_DIRENT_SIZE
        elif node.target is not None:
            size = len(os.fsencode(node.target))
        return Stat(node.mode, node.ino, 0, node.nlink, node.uid, node.gid, node.rdev,
                    size, 4096, blocks, atime, mtime, ctime)

    def host_inode(self, path: str) -> int | None:
        try:
            return self.node_host_inode(self.node_at(path))
        except SyscallError:
            return None

    def node_host_inode(self, node: Node) -> int | None:
        """A copy of the O_PATH fd of a regular file's host inode (None for anything else)."""
        return None if node.data_fd is None else os.dup(node.data_fd)

    def stat_is_stable(self, node: Node | None, mode: int) -> bool:
        """Directories and symlinks: only the sentry changes them. A file's
        size and times follow its host inode, which the workload writes natively."""
        return node is not None and (node.is_dir or node.target is not None)

    def setattr(self, path: str, attrs: SetAttr, node: Node | None = None) -> None:
        node = node or self.node_at(path)
        now = time.time_ns()
        if attrs.size is not None:
            if node.is_dir:
                raise SyscallError(errno.EISDIR)
            if node.data_fd is None:
                raise SyscallError(errno.EINVAL)
            self._check_room(attrs.size - os.fstat(node.data_fd).st_size)
            with writable(node.data_fd) as fd:
                os.ftruncate(fd, attrs.size)
            node.mtime_ns = now
        if attrs.mode is not None:
            node.mode = statmod.S_IFMT(node.mode) | (attrs.mode & 0o7777)
        if attrs.uid is not None:
            node.uid = attrs.uid
        if attrs.gid is not None:
            node.gid = attrs.gid
        if attrs.atime_ns is not None or attrs.mtime_ns is not None:
            self._set_times(node, attrs.atime_ns, attrs.mtime_ns)
        node.ctime_ns = now

    def _set_times(self, node: Node, atime: int | None, mtime: int | None) -> None:
        if atime is not None:
            node.atime_ns = atime
        if mtime is not None:
            node.mtime_ns = mtime
        if node.data_fd is not None:  # the host inode's times are read back by stat_node
            host = os.fstat(node.data_fd)
            set_times(node.data_fd, atime if atime is not None else host.st_atime_ns,
                      mtime if mtime is not None else host.st_mtime_ns)

    def _check_room(self, grow: int) -> None:
        if grow > 0 and not self.store.limited_by_host and self.store.size is not None:
            used = sum(os.fstat(n.data_fd).st_size for n in self._files())
            if used + grow > self.store.size:
                raise SyscallError(errno.ENOSPC)

    def _files(self):
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.is_dir:
                stack.extend(node.children.values())
            elif node.data_fd is not None:
                yield node

    def statfs(self) -> StatFs:
        total, free = self.store.usage()
        if not self.store.limited_by_host:   # the sentry counts what its files hold
            used = sum(-(-os.fstat(n.data_fd).st_size // 4096) * 4096 for n in self._files())
            free = max(total - used, 0)
        blocks, bfree = total // 4096, free // 4096
        return StatFs(TMPFS_MAGIC, 4096, blocks, bfree, bfree, blocks, bfree)

    # -- changing the tree --------------------------------------------------

    def _add(self, path: str, node: Node) -> Node:
        parent, name = self.parent_at(path)
        if name in parent.children:
            raise SyscallError(errno.EEXIST)
        parent.children[name] = node
        if node.is_dir:
            parent.nlink += 1
        parent.touch()
        return node

    def create(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        parent, name = self.parent_at(path)
        if name in parent.children:
            raise SyscallError(errno.EEXIST)
        node = self.new_node(statmod.S_IFREG | (mode & 0o7777), uid, gid)
        node.data_fd = self.store.new_file()
        self._add(path, node)
        return Lookup("found", stat=self.stat_node(node), fd=self.open_node(node, open_flags),
                      node=node)

    def tmpfile(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        if not self.node_at(path).is_dir:
            raise SyscallError(errno.ENOTDIR)
        node = self.new_node(statmod.S_IFREG | (mode & 0o7777), uid, gid)
        node.nlink = 0
        node.data_fd = self.store.new_file()
        fd = self.open_node(node, open_flags)
        st = self.stat_node(node)
        # Only the workload's fds keep the bytes, so they go at the last close as on
        # Linux (the sentry cannot see that close: a description is shared by fork,
        # and exit closes natively). A linkat brings them back from the caller's fd.
        self._release(node)
        node.linkable = not open_flags & os.O_EXCL
        return Lookup("found", stat=st, fd=fd, node=node)

    def mkdir(self, path: str, mode: int, uid: int, gid: int) -> None:
        self._add(path, self.new_node(statmod.S_IFDIR | (mode & 0o7777), uid, gid))

    def mknod(self, path: str, mode: int, rdev: int, uid: int, gid: int) -> None:
        kind = statmod.S_IFMT(mode) or statmod.S_IFREG
        if kind == statmod.S_IFREG:
            self.create(path, mode, uid, gid, os.O_RDONLY)
            return
        self.parent_at(path)
        node = self.new_node(kind | (mode & 0o7777), uid, gid)
        if kind == statmod.S_IFIFO:
            node.fifo = self.store.new_fifo()
        elif kind != statmod.S_IFSOCK:
            raise SyscallError(errno.EPERM)  # device nodes: not in a sandbox
        self._add(path, node)

    def symlink(self, path: str, target: str, uid: int, gid: int) -> None:
        node = self.new_node(statmod.S_IFLNK | 0o777, uid, gid)
        node.target = target
        self._add(path, node)

    def link(self, old: str, new: str) -> None:
        node = self.node_at(old)
        if node.is_dir:
            raise SyscallError(errno.EPERM)
        self._add(new, node)
        node.nlink += 1
        node.ctime_ns = time.time_ns()

    def link_node(self, node: Node, new: str, host_fd: int = -1) -> None:
        """A name for an open file (linkat AT_EMPTY_PATH, or /proc/self/fd/N followed);
        `host_fd`: the caller's host fd of it, which holds an unnamed file's bytes."""
        if node.nlink == 0 and not node.is_dir:
            if not node.linkable or host_fd < 0:  # unlinked, or O_TMPFILE|O_EXCL
                raise SyscallError(errno.ENOENT)
            self._add(new, node)
            node.data_fd = reopen(host_fd, os.O_PATH)  # the inode the caller's fd is open on
            node.linkable = False
            node.nlink = 1
            node.ctime_ns = time.time_ns()
            return
        self._add(new, node)
        node.nlink += 1
        node.ctime_ns = time.time_ns()

    def unlink(self, path: str) -> None:
        parent, name = self.parent_at(path)
        node = parent.children.get(name)
        if node is None:
            raise SyscallError(errno.ENOENT)
        if node.is_dir:
            raise SyscallError(errno.EISDIR)
        self._remove(parent, name)

    def rmdir(self, path: str) -> None:
        parent, name = self.parent_at(path)
        node = parent.children.get(name)
        if node is None:
            raise SyscallError(errno.ENOENT)
        if not node.is_dir:
            raise SyscallError(errno.ENOTDIR)
        if node.children:
            raise SyscallError(errno.ENOTEMPTY)
        self._remove(parent, name)

    def _remove(self, parent: Node, name: str) -> Node:
        node = parent.children.pop(name)
        now = time.time_ns()
        parent.touch(now)
        if node.is_dir:
            parent.nlink -= 1
            node.nlink = 0
        else:
            node.nlink -= 1
            node.ctime_ns = now
        if node.nlink == 0:
            self._release(node)
        return node

    def _release(self, node: Node) -> None:
        """The last name is gone: open fds keep a regular file's bytes alive on the host."""
        if node.data_fd is not None:
            os.close(node.data_fd)
            node.data_fd = None
        if node.fifo is not None:
            self.store.drop_fifo(node.fifo)
            node.fifo = None

    def rename(self, old: str, new: str, flags: int) -> None:
        src_dir, src_name = self.parent_at(old)
        dst_dir, dst_name = self.parent_at(new)
        src = src_dir.children.get(src_name)
        if src is None:
            raise SyscallError(errno.ENOENT)
        dst = dst_dir.children.get(dst_name)
        if not check_rename(old, new, flags, src.is_dir, dst is not None and dst.is_dir,
                            dst is not None, bool(dst is not None and dst.children), src is dst):
            return
        if flags & RENAME_EXCHANGE:
            src_dir.children[src_name], dst_dir.children[dst_name] = dst, src
            if src.is_dir != dst.is_dir and src_dir is not dst_dir:
                moved = 1 if src.is_dir else -1
                src_dir.nlink -= moved
                dst_dir.nlink += moved
        else:
            if dst is not None:
                self._remove(dst_dir, dst_name)
            del src_dir.children[src_name]
            dst_dir.children[dst_name] = src
            if src.is_dir:
                src_dir.nlink -= 1
                dst_dir.nlink += 1
        now = time.time_ns()
        src_dir.touch(now)
        dst_dir.touch(now)
        src.ctime_ns = now

    # -- extended attributes: the user.* and trusted.* namespaces ------------

    def getxattr(self, path: str, name: str, node: Node | None = None) -> bytes:
        node = node or self.node_at(path)
        _check_xattr_name(name)
        if name not in node.xattrs:
            raise SyscallError(errno.ENODATA)
        return node.xattrs[name]

    def setxattr(self, path: str, name: str, value: bytes, flags: int,
                 node: Node | None = None) -> None:
        node = node or self.node_at(path)
        _check_xattr_name(name)
        if name.startswith("user.") and not (statmod.S_ISREG(node.mode) or node.is_dir):
            raise SyscallError(errno.EPERM)
        if flags & XATTR_CREATE and name in node.xattrs:
            raise SyscallError(errno.EEXIST)
        if flags & XATTR_REPLACE and name not in node.xattrs:
            raise SyscallError(errno.ENODATA)
        node.xattrs[name] = value
        node.ctime_ns = time.time_ns()

    def listxattr(self, path: str, node: Node | None = None) -> list[str]:
        return list((node or self.node_at(path)).xattrs)

    def file_caps(self, node: Node | None, fd: int | None) -> bytes | None:
        return node.xattrs.get("security.capability") if isinstance(node, Node) else None

    def removexattr(self, path: str, name: str, node: Node | None = None) -> None:
        node = node or self.node_at(path)
        _check_xattr_name(name)
        if node.xattrs.pop(name, None) is None:
            raise SyscallError(errno.ENODATA)
        node.ctime_ns = time.time_ns()


def _check_xattr_name(name: str) -> None:
    if not name or len(name) > 255:
        raise SyscallError(errno.ERANGE)
    if not name.startswith(("user.", "trusted.", "security.")):
        raise SyscallError(errno.ENOTSUP)
