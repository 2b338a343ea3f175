"""The overlay root: the container's rootfs (lower, read-only, through the
gofer) under a sentry tmpfs (upper), so the sandbox can change anything and
the host's files never change.

The upper tmpfs holds only what was changed. A directory there carries
two marks (fields of tmpfs.Node):

- `lower`: the lower directory merged beneath it, or None when the upper
  directory is *opaque* (made new, or made again after a removal). A
  directory renamed from the lower layer keeps pointing at its old lower
  path, so renaming `/usr` costs one node, not a copy of the tree (Linux's
  overlayfs calls this redirect_dir).
- `whiteouts`: names of the lower directory that were removed.

A path is walked in the upper tree while the names are there; at the first
name that is not, if the upper directory is not opaque and the name is not
whited out, the rest of the path is the lower's, under the directory's
`lower` path. Copy-up (any change to a lower file) first copies up the
parent directories (as merged directories), then the file: its bytes,
mode, owner and times. A copied-up file keeps its lower `st_ino`, so a
program sees the same inode number before and after; upper-only files get
numbers above the host's range.
"""
from __future__ import annotations

import errno
import mmap
import os
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.store import set_times, writable
from runsc_py.sentry.fs.tmpfs import Node, TmpFilesystem, touch_atime
from runsc_py.sentry.vfs import (RENAME_EXCHANGE, Filesystem, Lookup, SetAttr, StatFs,
                                 check_rename)

OVERLAYFS_SUPER_MAGIC = 0x794C7630
UPPER_INO_BASE = 1 << 48   # st_ino of files made in the sandbox: clear of host inode numbers
WRITE_INTENT = os.O_WRONLY | os.O_RDWR | os.O_TRUNC


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _copy_mapped(src: int, dst: int, size: int) -> None:
    """Copy `size` bytes of `src` to `dst` through a mapping of `src`: a read
    would be an IN_ACCESS on the rootfs file, which the sentry's host inotify
    may be watching for the workload (sentry/inotify_host.py), and a copy-up
    is no read of the workload's. Page faults raise no inotify event."""
    try:
        mapped = mmap.mmap(src, size, prot=mmap.PROT_READ) if size else None
    except (OSError, ValueError):  # a file that cannot be mapped, or shorter than it said
        mapped = None
    if mapped is None:
        done = 0  # sendfile, not copy_file_range: that refuses to cross filesystems
        while done < size:
            n = os.sendfile(dst, src, done, size - done)
            if n == 0:
                break
            done += n
        return
    with mapped, memoryview(mapped) as view:
        done = 0
        while done < size:
            done += os.write(dst, view[done:])


DT_DIR = 4   # a directory entry's type, as getdents64 and the gofer give it


class OverlayFilesystem(Filesystem):
    readonly = False
    fstype = "overlay"
    magic = OVERLAYFS_SUPER_MAGIC
    names_stable = True  # the rootfs below is the sandbox's alone, as the gofer's cache assumes

    def __init__(self, lower: Filesystem, upper: TmpFilesystem):
        self.lower = lower
        self.upper = upper
        # lower directory -> the names of its subdirectories, listed once: a
        # changed merged directory's link count needs them at every stat
        self._lower_subdirs: dict[str, frozenset[str]] = {}
        root = upper.root
        root.lower = ""
        st = lower.lookup("").stat  # the root keeps the rootfs's attributes
        root.mode, root.uid, root.gid = st.mode, st.uid, st.gid
        root.atime_ns, root.mtime_ns, root.ctime_ns = st.atime_ns, st.mtime_ns, st.ctime_ns
        root.lower_ino = st.ino

    # -- walking ----------------------------------------------------------

    def _walk(self, names: list[str]) -> tuple[Node, int]:
        """Follow `names` through the upper tree: the last upper node and how many names it took."""
        node = self.upper.root
        for i, name in enumerate(names):
            child = node.children.get(name) if node.is_dir else None
            if child is None:
                return node, i
            if child.target is not None and i < len(names) - 1:
                return child, i + 1  # a symlink midway: the caller reports it
            node = child
        return node, len(names)

    def _lower_path(self, node: Node, names: list[str], taken: int, count: int | None = None) -> str:
        """The lower path of `names[taken:]` (or `count` of them) under upper
        directory `node`, or ENOENT when the directory hides that name."""
        if not node.is_dir:
            raise SyscallError(errno.ENOTDIR)
        name = names[taken]
        if node.lower is None or name in node.whiteouts:
            raise SyscallError(errno.ENOENT)
        end = len(names) if count is None else taken + count
        return _join(node.lower, *names[taken:end])

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        names = path.split("/") if path else []
        node, taken = self._walk(names)
        if node.target is not None and taken < len(names):
            return Lookup("symlink", consumed=taken, target=node.target)
        if taken == len(names):
            return self._upper_found(node, open_flags)
        lower_path = self._lower_path(node, names, taken)
        if open_flags >= 0 and open_flags & WRITE_INTENT:
            found = self.lower.lookup(lower_path)
            if found.kind == "found" and found.target is None and not statmod.S_ISDIR(found.stat.mode):
                return self._upper_found(self.copy_up(path), open_flags)
        found = self.lower.lookup(lower_path, open_flags)
        if found.kind == "symlink":  # count the names as the overlay path has them
            base = len(node.lower.split("/")) if node.lower else 0
            return found._replace(consumed=taken + found.consumed - base)
        return found

    def _upper_found(self, node: Node, open_flags: int) -> Lookup:
        fd = self.upper.open_node(node, open_flags) if open_flags >= 0 and node.target is None else None
        return Lookup("found", stat=self.stat_node(node), target=node.target, fd=fd, node=node)

    def stat_node(self, node: Node) -> object:
        st = self.upper.stat_node(node)
        if node.is_dir and node.lower is not None:  # merged: size and links as the rootfs has them
            below = self.lower.lookup(node.lower).stat
            nlink = below.nlink
            if node.children or node.whiteouts:  # changed: count what is visible (find relies on it)
                nlink = 2 + self._visible_subdirs(node)
            st = st._replace(size=below.size, blocks=below.blocks, nlink=nlink)
        return st._replace(ino=node.lower_ino or UPPER_INO_BASE + node.ino)

    def stat_is_stable(self, node: Node | None, mode: int) -> bool:
        """An upper node as tmpfs says; a rootfs file below (no node) cannot be
        written without a copy-up, which the sentry does."""
        if node is not None:
            return self.upper.stat_is_stable(node, mode)
        return statmod.S_ISREG(mode) or statmod.S_ISDIR(mode) or statmod.S_ISLNK(mode)

    def host_inode(self, path: str) -> int | None:
        """The upper file's inode, or the rootfs file's while it is not copied up."""
        names = path.split("/") if path else []
        node, taken = self._walk(names)
        if taken == len(names):
            return self.upper.node_host_inode(node)
        if node.target is not None:
            return None
        try:
            return self.lower.host_inode(self._lower_path(node, names, taken))
        except SyscallError:
            return None

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        names = path.split("/") if path else []
        node, taken = self._walk(names)
        if taken < len(names):
            return self.lower.readdir(self._lower_path(node, names, taken))
        if not node.is_dir:
            raise SyscallError(errno.ENOTDIR)
        return self._merged_entries(node)

    def listed(self, path: str) -> bool:
        """An upper or merged directory's time (what stat shows) moves; a
        rootfs directory below has none the sandbox can move (read-only)."""
        names = path.split("/") if path else []
        node, taken = self._walk(names)
        return taken == len(names) and touch_atime(node)

    def _visible_subdirs(self, node: Node) -> int:
        """How many subdirectories a changed merged directory shows: its upper
        ones, and the rootfs's it neither hides nor replaces. Without a
        listing of the rootfs directory per stat, which made `rm -rf` of a
        rootfs directory quadratic (each unlink's walk stats the parent)."""
        below = self._lower_subdirs.get(node.lower)
        if below is None:
            below = frozenset(os.fsdecode(name) for _i, dtype, name in self.lower.readdir(node.lower)
                              if dtype == DT_DIR)
            self._lower_subdirs[node.lower] = below
        children = node.children
        upper = sum(1 for child in children.values() if child.is_dir)
        return upper + sum(1 for name in below if name not in node.whiteouts and name not in children)

    def _merged_entries(self, node: Node) -> list[tuple[int, int, bytes]]:
        out = [(c.lower_ino or UPPER_INO_BASE + c.ino, statmod.S_IFMT(c.mode) >> 12, os.fsencode(n))
               for n, c in node.children.items()]
        if node.lower is not None:
            hidden = {os.fsencode(n) for n in node.whiteouts} | {os.fsencode(n) for n in node.children}
            out += [e for e in self.lower.readdir(node.lower) if e[2] not in hidden]
        return out

    # -- copy-up ---------------------------------------------------------------

    def copy_up(self, path: str) -> Node:
        """Make `path` an upper node (with its parents), copying a lower file's bytes."""
        names = path.split("/") if path else []
        node, taken = self._walk(names)
        while taken < len(names):
            lower_path = self._lower_path(node, names, taken, 1)
            found = self.lower.lookup(lower_path)
            if found.kind != "found":
                raise SyscallError(errno.ENOENT)
            child = self._copy_node(lower_path, found, taken == len(names) - 1)
            node.children[names[taken]] = child
            if child.is_dir:
                node.nlink += 1
            node, taken = child, taken + 1
        return node

    def _copy_node(self, lower_path: str, found: Lookup, last: bool) -> Node:
        st = found.stat
        node = self.upper.new_node(st.mode, st.uid, st.gid)
        node.lower_ino = st.ino
        node.atime_ns, node.mtime_ns, node.ctime_ns = st.atime_ns, st.mtime_ns, st.ctime_ns
        kind = statmod.S_IFMT(st.mode)
        if kind == statmod.S_IFDIR:
            node.lower = lower_path
        elif kind == statmod.S_IFLNK:
            node.target = found.target
        elif kind == statmod.S_IFREG:
            node.data_fd = self.upper.store.new_file()
            with writable(node.data_fd) as dst:
                caps = self._copy_bytes(lower_path, dst, st.size)
            if caps is not None:   # as overlayfs copies xattrs up: a chmod keeps them
                node.xattrs["security.capability"] = caps
            set_times(node.data_fd, st.atime_ns, st.mtime_ns)
        elif kind == statmod.S_IFIFO:
            node.fifo = self.upper.store.new_fifo()
        else:
            node.rdev = st.rdev  # a device or socket node: kept as a name, never opened
        return node

    def _copy_bytes(self, lower_path: str, dst: int, size: int) -> bytes | None:
        """Copy a lower file's bytes into `dst`; returns its file capabilities.
        The copy leaves the lower file's atime alone (O_NOATIME, where the
        gofer may): a copy-up is the sandbox changing its own file."""
        try:
            src = self.lower.lookup(lower_path, os.O_RDONLY | os.O_NOATIME).fd
        except SyscallError as exc:
            if exc.errno != errno.EPERM:   # (neither owner nor CAP_FOWNER)
                raise
            src = self.lower.lookup(lower_path, os.O_RDONLY).fd
        try:
            _copy_mapped(src, dst, size)
            return self.lower.file_caps(None, src)
        finally:
            os.close(src)

    def _parent(self, path: str) -> tuple[Node, str]:
        """The copied-up parent directory of `path`, and the last name."""
        parent, _, name = path.rpartition("/")
        return self.copy_up(parent), name

    def _visible(self, path: str) -> Lookup | None:
        try:
            return self.lookup(path)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise

    def _lower_has(self, dir_node: Node, name: str) -> bool:
        if dir_node.lower is None or name in dir_node.whiteouts:
            return False
        try:
            self.lower.lookup(_join(dir_node.lower, name))
        except SyscallError:
            return False
        return True

    # -- changes -------------------------------------------------------------------

    def _new(self, path: str) -> tuple[Node, str]:
        """Prepare the upper parent for a new name; EEXIST if the name is visible."""
        if self._visible(path) is not None:
            raise SyscallError(errno.EEXIST)
        return self._parent(path)

    def _made(self, parent: Node, name: str) -> None:
        """A new upper name replaces a whiteout: the new entry must not show the old lower one."""
        node = parent.children[name]
        if name in parent.whiteouts:
            parent.whiteouts.discard(name)
        if node.is_dir:
            node.lower = None  # a new directory is opaque

    def create(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        parent, name = self._new(path)
        made = self.upper.create(path, mode, uid, gid, open_flags)
        self._made(parent, name)
        return made._replace(stat=self.stat_node(made.node))

    def tmpfile(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        self.copy_up(path)
        made = self.upper.tmpfile(path, mode, uid, gid, open_flags)
        return made._replace(stat=self.stat_node(made.node))

    def mkdir(self, path: str, mode: int, uid: int, gid: int) -> None:
        parent, name = self._new(path)
        self.upper.mkdir(path, mode, uid, gid)
        self._made(parent, name)

    def mknod(self, path: str, mode: int, rdev: int, uid: int, gid: int) -> None:
        parent, name = self._new(path)
        self.upper.mknod(path, mode, rdev, uid, gid)
        self._made(parent, name)

    def symlink(self, path: str, target: str, uid: int, gid: int) -> None:
        parent, name = self._new(path)
        self.upper.symlink(path, target, uid, gid)
        self._made(parent, name)

    def link(self, old: str, new: str) -> None:
        self.copy_up(old)
        parent, name = self._new(new)
        self.upper.link(old, new)
        self._made(parent, name)

    def link_node(self, node: Node, new: str, host_fd: int = -1) -> None:
        if not isinstance(node, Node):
            raise SyscallError(errno.EXDEV)  # a lower file opened before any copy-up
        parent, name = self._new(new)
        self.upper.link_node(node, new, host_fd)
        self._made(parent, name)

    def unlink(self, path: str) -> None:
        found = self._visible(path)
        if found is None:
            raise SyscallError(errno.ENOENT)
        if statmod.S_ISDIR(found.stat.mode):
            raise SyscallError(errno.EISDIR)
        self._remove(path)

    def rmdir(self, path: str) -> None:
        found = self._visible(path)
        if found is None:
            raise SyscallError(errno.ENOENT)
        if not statmod.S_ISDIR(found.stat.mode):
            raise SyscallError(errno.ENOTDIR)
        if self.readdir(path):
            raise SyscallError(errno.ENOTEMPTY)
        self._remove(path)

    def _remove(self, path: str) -> None:
        parent, name = self._parent(path)
        lower_has = self._lower_has(parent, name)
        child = parent.children.get(name)
        if child is not None:
            if child.is_dir:
                self.upper.rmdir(path)  # empty in the merged view, so empty here too
            else:
                self.upper.unlink(path)
        else:
            parent.touch()
        if lower_has:
            parent.whiteouts.add(name)

    def rename(self, old: str, new: str, flags: int) -> None:
        src = self._visible(old)
        if src is None:
            raise SyscallError(errno.ENOENT)
        dst = self._visible(new)
        src_is_dir = statmod.S_ISDIR(src.stat.mode)
        dst_is_dir = dst is not None and statmod.S_ISDIR(dst.stat.mode)
        same = dst is not None and src.stat.ino == dst.stat.ino
        if not check_rename(old, new, flags, src_is_dir, dst_is_dir, dst is not None,
                            dst_is_dir and bool(self.readdir(new)), same):
            return
        # Copy both names up: a directory as a merged upper directory that
        # still points at its lower path (no subtree is copied), a file whole.
        src_parent, src_name = self._parent(old)
        src_lower = self._lower_has(src_parent, src_name)
        self.copy_up(old)
        dst_parent, dst_name = self._parent(new)
        if dst is not None:
            self.copy_up(new)
        self.upper.rename(old, new, flags)
        if flags & RENAME_EXCHANGE:
            return  # both names still exist: their whiteouts stay as they were
        if src_lower:
            src_parent.whiteouts.add(src_name)
        dst_parent.whiteouts.discard(dst_name)  # the moved upper entry hides any lower one

    def setattr(self, path: str, attrs: SetAttr, node: Node | None = None) -> None:
        if not isinstance(node, Node):  # a lower file: change a copy
            node = self.copy_up(path)
        self.upper.setattr(path, attrs, node)

    def statfs(self) -> StatFs:
        return self.upper.statfs()._replace(type=OVERLAYFS_SUPER_MAGIC)

    # -- extended attributes: the upper tmpfs keeps them (copy-up first) -------

    def getxattr(self, path: str, name: str, node: Node | None = None) -> bytes:
        if node is None:
            found = self._visible(path)
            node = found.node if found is not None else None
        if node is None:
            raise SyscallError(errno.ENODATA)
        return self.upper.getxattr(path, name, node)

    def setxattr(self, path: str, name: str, value: bytes, flags: int, node: Node | None = None) -> None:
        self.upper.setxattr(path, name, value, flags, node or self.copy_up(path))

    def file_caps(self, node: Node | None, fd: int | None) -> bytes | None:
        if isinstance(node, Node):
            return self.upper.file_caps(node, fd)
        return self.lower.file_caps(None, fd)   # a rootfs file (a lookup below gives no node)

    def listxattr(self, path: str, node: Node | None = None) -> list[str]:
        if node is None:
            found = self._visible(path)
            node = found.node if found is not None else None
        return self.upper.listxattr(path, node) if node is not None else []

    def removexattr(self, path: str, name: str, node: Node | None = None) -> None:
        self.upper.removexattr(path, name, node or self.copy_up(path))
