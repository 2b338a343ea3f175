"""The gofer: the only process of a sandbox that opens host files.

It holds one fd, the container's root, and resolves every path beneath it
with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS):
symlinks are never followed here, they are reported to the sentry, whose
VFS splices them (they may point into another mount). So no path the
sentry sends can name a host file outside the root, whatever it contains.

A read-only root refuses write opens with EROFS; device nodes are never
opened (as on a nodev mount), so a rootfs cannot smuggle in a host disk.
"""
from __future__ import annotations

import collections
import contextlib
import errno
import gc
import os
import socket
import stat as statmod
import struct
import sys

from runsc_py._interpose import ffi, lib
from runsc_py import hostcalls
from runsc_py.gofer import protocol as p
from runsc_py.sentry.stat import Stat

RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_IN_ROOT = 0x10
RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
OPENAT2_RETRIES = 8
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


_UNCLEARED = ffi.new_allocator(should_clear_after_alloc=False)


def _reads_directory(open_flags: int) -> bool:
    """An open that asks for a directory to read: the way every walk opens one."""
    return (open_flags & os.O_DIRECTORY and not open_flags & os.O_PATH
            and open_flags & os.O_ACCMODE == os.O_RDONLY)


class Root(collections.namedtuple("Root", "fd readonly name", defaults=(None,))):
    """One tree the gofer serves: a directory, or a single file (a file bind
    mount) named `name` in the directory `fd`."""

    __slots__ = ()
    # fields:
    # fd: int
    # readonly: bool
    # name: str | None = None


class Gofer:
    def __init__(self, root_fd: int, readonly: bool):
        self.roots = [Root(root_fd, readonly)]
        # where listings are written: one buffer, not cleared (pages are
        # touched only as far as a listing reaches)
        self._listing = _UNCLEARED("char[]", p.MAX_MESSAGE)
        self._cpu = -1   # the sentry's CPU, as its last request named it (csrc/interpose.c)
        self._allowed = os.sched_getaffinity(0)

    @property
    def root_fd(self) -> int:
        return self.roots[0].fd

    @property
    def readonly(self) -> bool:
        return self.roots[0].readonly

    def add_root(self, fd: int, readonly: bool, name: str | None = None) -> int:
        """Serve another tree (a bind mount's source); returns its mount index."""
        self.roots.append(Root(fd, readonly, name))
        return len(self.roots) - 1

    def serve(self, sock: socket.socket) -> None:
        """Answer requests until the sentry hangs up."""
        buf = bytearray(p.REQUEST.size + p.ATTRS.size + 2 * 4096 + 1)  # at most two paths
        view = memoryview(buf)
        ancillary = socket.CMSG_SPACE(4)
        while True:
            n, ancdata, _flags, _addr = sock.recvmsg_into([buf], ancillary)
            if not n:
                return
            msg = bytes(view[:n])
            fds: list[int] = []
            sent = [fd for level, kind, data in ancdata if level == socket.SOL_SOCKET
                    and kind == socket.SCM_RIGHTS for fd in struct.unpack(f"<{len(data) // 4}i", data)]
            try:
                reply = self.handle(msg, fds, sent[0] if sent else -1)
            except OSError as exc:
                reply = p.REPLY.pack(exc.errno or errno.EIO, 0)
            try:
                socket.send_fds(sock, [reply], fds) if fds else sock.send(reply)
            finally:
                for fd in fds + sent:
                    os.close(fd)

    def handle(self, msg: bytes, fds: list[int], sent_fd: int = -1) -> bytes:
        """One request's reply; a malformed request is EINVAL, never the gofer's end.
        fds collects the fds to send back; sent_fd is one that came with the request."""
        try:
            return self._dispatch(msg, fds, sent_fd)
        except (ValueError, OverflowError, struct.error) as exc:
            raise OSError(errno.EINVAL, f"malformed request: {exc}") from None

    def _dispatch(self, msg: bytes, fds: list[int], sent_fd: int) -> bytes:
        op, mount, open_flags, arg, cpu, body = p.unpack_request(msg)
        if cpu != self._cpu:
            self._move_to(cpu)
        if mount >= len(self.roots):
            raise OSError(errno.EINVAL, "no such mount")
        root = self.roots[mount]
        if op == p.LOOKUP:
            return self.lookup(root, p.decode_path(body), open_flags, fds)
        if op == p.READDIR:
            return self.readdir(root, p.decode_path(body), arg)
        if op == p.STATFS:
            return self.statfs(root)
        if op in p.CHANGES:
            if root.readonly:
                raise OSError(errno.EROFS, "read-only mount")
            return self.change(root, op, open_flags, arg, body, fds, sent_fd)
        raise OSError(errno.EINVAL, "unknown gofer op")

    def _openat2(self, root: Root | int, path: str, flags: int) -> int:
        """Open `path` beneath a root (or beneath a directory fd), never following a link."""
        if isinstance(root, Root):
            if root.name is not None:  # a single file: only "" names it
                if path:
                    raise OSError(errno.ENOTDIR, "a file mount has no children")
                path = root.name
            dirfd = root.fd
        else:
            dirfd = root
        raw = (path or ".").encode("utf-8", "surrogateescape")
        for _attempt in range(OPENAT2_RETRIES):
            fd = lib.rp_openat2(dirfd, raw, flags | os.O_CLOEXEC | os.O_NOFOLLOW, 0, RESOLVE)
            if fd != -errno.EAGAIN:  # RESOLVE_IN_ROOT gives up when a mount or rename races it
                break
        if fd < 0:
            raise OSError(-fd, os.strerror(-fd))
        return fd

    def _move_to(self, cpu: int) -> None:
        """Keep to the sentry's CPU: every request is a wake-up, cheap only
        on the waker's CPU (-1: the sentry could not tell; any CPU again)."""
        self._cpu = cpu
        with contextlib.suppress(OSError, ValueError):   # a CPU this process may not use
            os.sched_setaffinity(0, {cpu} if cpu >= 0 else self._allowed)

    def lookup(self, root: Root, path: str, open_flags: int, fds: list[int]) -> bytes:
        try:
            fd = self._openat2(root, path, os.O_PATH)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            return self._symlink_midway(root, path)
        try:
            st = os.fstat(fd)
            body = p.pack_stat(Stat.from_os(st))
            if statmod.S_ISLNK(st.st_mode):
                return p.REPLY.pack(0, p.FOUND) + body + os.fsencode(os.readlink("", dir_fd=fd))
        finally:
            os.close(fd)
        if open_flags < 0:
            return p.REPLY.pack(0, p.FOUND) + body
        fd = self._open(root, path, open_flags, st.st_mode)
        fds.append(fd)
        if statmod.S_ISDIR(st.st_mode) and _reads_directory(open_flags):
            with contextlib.suppress(OSError):   # else the open stands, listed when read
                return p.REPLY.pack(0, p.LISTED) + body + self._entries(fd, 0)
        return p.REPLY.pack(0, p.FOUND) + body

    def _open(self, root: Root, path: str, flags: int, mode: int) -> int:
        if root.readonly and flags & WRITE_FLAGS:
            raise OSError(errno.EROFS, "read-only root")
        if statmod.S_ISCHR(mode) or statmod.S_ISBLK(mode):
            raise OSError(errno.EACCES, "device nodes are not opened from the rootfs")
        if statmod.S_ISFIFO(mode):  # the gofer must never wait: the sentry opens it
            return self._openat2(root, path, os.O_PATH)   # (sentry/fifos.py)
        return self._openat2(root, path, flags & ~os.O_CREAT)

    def _symlink_midway(self, root: Root, path: str) -> bytes:
        """Find the first symlink on `path`; report how far and where it points."""
        names = path.split("/")
        dirfd = os.dup(root.fd)
        try:
            for i, name in enumerate(names):
                fd = self._openat2(dirfd, name, os.O_PATH)
                os.close(dirfd)
                dirfd = fd
                if statmod.S_ISLNK(os.fstat(fd).st_mode):
                    target = os.fsencode(os.readlink("", dir_fd=fd))
                    return p.REPLY.pack(0, p.SYMLINK) + p.CONSUMED.pack(i + 1) + target
        finally:
            os.close(dirfd)
        raise OSError(errno.ELOOP, "symlink vanished during the walk")

    def readdir(self, root: Root, path: str, offset: int) -> bytes:
        fd = self._openat2(root, path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return p.REPLY.pack(0, p.ENTRIES) + self._entries(fd, offset)
        finally:
            os.close(fd)

    def _entries(self, dirfd: int, offset: int) -> bytes:
        """ENTRIES' body: whether more follow, then the entries from `offset`
        with their attributes (csrc/listing.c: the names sorted, lstat's
        attributes, link targets; the fd put back at offset 0)."""
        more = ffi.new("int *")
        room = p.MAX_MESSAGE - p.REPLY.size - p.STAT.size - 1   # (a LISTED reply's head)
        n = lib.rp_list_entries(dirfd, offset, p.ENTRIES_PER_REPLY, self._listing, room, more)
        if n < 0:
            raise OSError(-n, os.strerror(-n))
        return bytes([more[0]]) + ffi.buffer(self._listing, n)[:]

    def statfs(self, root: Root) -> bytes:
        st = os.fstatvfs(root.fd)
        return p.REPLY.pack(0, p.FOUND) + p.STATFS_REPLY.pack(
            hostcalls.fstatfs_type(root.fd), st.f_bsize, st.f_blocks, st.f_bfree, st.f_bavail,
            st.f_files, st.f_ffree, 0)

    # -- changes: every one acts on a single name in a directory opened beneath
    # -- the root, with *at calls that never follow that name -------------------

    def _parent(self, root: Root, path: str) -> tuple[int, str]:
        """An fd of `path`'s directory (beneath the root, no link followed), and its last name."""
        if root.name is not None or not path:
            raise OSError(errno.EBUSY, "a mount's root cannot be made, removed or renamed")
        parent, _, name = path.rpartition("/")
        if name in ("", ".", ".."):
            raise OSError(errno.EINVAL, "not a name")
        return self._openat2(root, parent, os.O_PATH | os.O_DIRECTORY), name

    def change(self, root: Root, op: int, open_flags: int, arg: int, body: bytes,
               fds: list[int], sent_fd: int = -1) -> bytes:
        if op == p.SETATTR:
            attrs = p.ATTRS.unpack_from(body)
            self.setattr(root, p.decode_path(body[p.ATTRS.size:]), attrs)
            return p.REPLY.pack(0, p.FOUND)
        if op in (p.CREATE, p.TMPFILE, p.MKDIR, p.MKNOD, p.MKSYMLINK):
            uid, gid = p.OWNER.unpack_from(body)
            body = body[p.OWNER.size:]
        if op == p.TMPFILE:
            fd = self._openat2(root, p.decode_path(body), (open_flags & ~os.O_CREAT) | os.O_TMPFILE)
            return self._owned(fd, arg, uid, gid, fds)
        path, _, second = body.partition(b"\0")
        dirfd, name = self._parent(root, p.decode_path(path))
        try:
            if op == p.CREATE:
                return self._create(dirfd, name, open_flags, arg, uid, gid, fds)
            if op == p.LINKFD:
                if sent_fd < 0:
                    raise OSError(errno.EBADF, "no file came with the request")
                hostcalls.link_fd(sent_fd, dirfd, name)
                return p.REPLY.pack(0, p.FOUND)
            if op == p.MKDIR:
                os.mkdir(name, arg & 0o7777, dir_fd=dirfd)
            elif op == p.MKNOD:
                if statmod.S_IFMT(arg) not in (statmod.S_IFIFO, statmod.S_IFSOCK):
                    raise OSError(errno.EPERM, "only FIFOs and socket files")
                os.mknod(name, arg, dir_fd=dirfd)
            elif op == p.MKSYMLINK:
                os.symlink(second, name, dir_fd=dirfd)
            elif op == p.UNLINK:
                os.unlink(name, dir_fd=dirfd)
            elif op == p.RMDIR:
                os.rmdir(name, dir_fd=dirfd)
            else:  # RENAME, LINK: a second name, in a directory of the same root
                dirfd2, name2 = self._parent(root, p.decode_path(second))
                try:
                    if op == p.LINK:
                        os.link(name, name2, src_dir_fd=dirfd, dst_dir_fd=dirfd2, follow_symlinks=False)
                    else:
                        hostcalls.renameat2(dirfd, name, dirfd2, name2, arg)
                finally:
                    os.close(dirfd2)
                return p.REPLY.pack(0, p.FOUND)
            if op in (p.MKDIR, p.MKNOD, p.MKSYMLINK):
                os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)
        finally:
            os.close(dirfd)
        return p.REPLY.pack(0, p.FOUND)

    def _create(self, dirfd: int, name: str, flags: int, mode: int, uid: int, gid: int,
                fds: list[int]) -> bytes:
        fd = lib.rp_openat2(dirfd, name.encode("utf-8", "surrogateescape"),
                            (flags & ~os.O_TRUNC) | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                            mode & 0o7777, RESOLVE)
        if fd < 0:
            raise OSError(-fd, os.strerror(-fd))
        return self._owned(fd, mode, uid, gid, fds)

    @staticmethod
    def _owned(fd: int, mode: int, uid: int, gid: int, fds: list[int]) -> bytes:
        """A file the gofer just made: given the caller's owner and mode, sent back open."""
        try:
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode & 0o7777)  # as asked, not as the gofer's umask left it
            st = Stat.from_os(os.fstat(fd))
        except BaseException:
            os.close(fd)
            raise
        fds.append(fd)
        return p.REPLY.pack(0, p.FOUND) + p.pack_stat(st)

    def setattr(self, root: Root, path: str, attrs: tuple) -> None:
        mask, mode, uid, gid, size, atime, mtime = attrs
        if root.name is not None or not path:
            dirfd, name = os.dup(root.fd), (root.name or ".")
        else:
            dirfd, name = self._parent(root, path)
        try:
            if mask & p.ATTR_SIZE:  # non-blocking: a FIFO there must not hang the gofer
                fd = self._openat2(dirfd, name, os.O_WRONLY | os.O_NONBLOCK)
                try:
                    os.ftruncate(fd, size)
                finally:
                    os.close(fd)
            if mask & (p.ATTR_UID | p.ATTR_GID):
                os.chown(name, uid if mask & p.ATTR_UID else -1, gid if mask & p.ATTR_GID else -1,
                         dir_fd=dirfd, follow_symlinks=False)
            if mask & p.ATTR_MODE:
                hostcalls.fchmodat_nofollow(dirfd, name, mode)
            if mask & (p.ATTR_ATIME | p.ATTR_MTIME):
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                os.utime(name, ns=(atime if mask & p.ATTR_ATIME else st.st_atime_ns,
                                   mtime if mask & p.ATTR_MTIME else st.st_mtime_ns),
                         dir_fd=dirfd, follow_symlinks=False)
        finally:
            os.close(dirfd)


# What serving needs, and nothing that names a path from the process's root
# or cwd (open, openat, stat, execve...): every file is reached through a
# root fd with openat2 or a *at call on a directory opened that way, or
# through an fd it returned. Python's own needs (memory, signals, futexes)
# are here too. Everything else fails with EPERM. Which *files* those calls
# may reach, Landlock decides (gofer/landlock.py): only those beneath the roots.
ALLOWED_SYSCALLS = {
    0: "read", 1: "write", 3: "close", 5: "fstat", 8: "lseek", 9: "mmap", 10: "mprotect",
    11: "munmap", 12: "brk", 13: "rt_sigaction", 14: "rt_sigprocmask", 15: "rt_sigreturn",
    25: "mremap", 28: "madvise", 32: "dup", 39: "getpid", 44: "sendto", 45: "recvfrom",
    46: "sendmsg", 47: "recvmsg", 60: "exit", 72: "fcntl", 77: "ftruncate", 91: "fchmod",
    93: "fchown", 131: "sigaltstack", 138: "fstatfs", 186: "gettid",
    202: "futex", 217: "getdents64", 228: "clock_gettime", 231: "exit_group",
    258: "mkdirat", 259: "mknodat", 260: "fchownat", 262: "newfstatat", 263: "unlinkat",
    265: "linkat", 266: "symlinkat", 267: "readlinkat", 273: "set_robust_list",
    280: "utimensat", 316: "renameat2", 318: "getrandom",
    332: "statx", 334: "rseq", 437: "openat2", 452: "fchmodat2",
    203: "sched_setaffinity", 204: "sched_getaffinity",   # keeping to the sentry's CPU
}


# What the gofer keeps of its capabilities: it acts on host files for the
# sandbox's users, whose ids are not its own. Everything else leaves every
# set, the bounding set included (CAP_SYS_CHROOT goes after its chroot).
GOFER_CAPABILITIES = (
    0,  # CAP_CHOWN: a new file gets its creator's owner; chown on a writable bind
    1,  # CAP_DAC_OVERRIDE: open and change files the sandbox's root may, whatever their modes
    2,  # CAP_DAC_READ_SEARCH: walk and read directories likewise
    3,  # CAP_FOWNER: chmod, utimes and links of files the gofer does not own
    4,  # CAP_FSETID: keep set-user/group-id bits through a chmod or chown for the caller
)


def open_root(path: str, readonly: bool) -> tuple[int, str | None]:
    """An O_PATH fd for a tree to serve: the directory itself, or a file's
    directory and the file's name (a file bind mount). It is the root of a
    detached copy of the tree's mounts (hostcalls.detached_tree), read-only
    for a read-only tree: what the gofer opens and hands the sentry is on
    those mounts, so no fd of it leads to a writable host file the sandbox
    may not write, or above the tree by "..", whoever holds it."""
    if not statmod.S_ISDIR(os.stat(path).st_mode):
        parent, name = os.path.split(os.path.abspath(path))
        return hostcalls.detached_tree(parent, readonly), name
    return hostcalls.detached_tree(path, readonly), None


def run(sock: socket.socket, roots: list[tuple[str, bool]]) -> None:
    """The gofer process's main: open its roots (the container's root first,
    then each bind mount's source), confine itself to them, then serve."""
    from runsc_py.gofer import landlock
    from runsc_py.platform.policy import allow_list, load_self

    hostcalls.set_pdeathsig(9)   # SIGKILL: never outlive the sentry
    allowed = allow_list(ALLOWED_SYSCALLS, errno.EPERM)   # before chroot: filter_cache
    opened = [(open_root(path, readonly), readonly) for path, readonly in roots]
    (root_fd, _), root_readonly = opened[0]
    gofer = Gofer(root_fd, root_readonly)
    fences = [(root_fd, root_readonly)]
    for (fd, name), readonly in opened[1:]:
        gofer.add_root(fd, readonly, name)
        fences.append((fd if name is None else _file_fd(fd, name), readonly))
    os.fchdir(root_fd)
    os.chroot(".")
    if not landlock.restrict_to(fences):
        sys.stderr.write("runsc-py: this kernel has no Landlock: the gofer is confined by "
                         "chroot and its syscall filter only\n")
    hostcalls.keep_capabilities(GOFER_CAPABILITIES)
    load_self(allowed)
    gc.freeze()   # forked by a booting sandbox, with collection off (cli/early.py)
    gc.enable()
    gofer.serve(sock)


def _file_fd(dirfd: int, name: str) -> int:
    """An O_PATH fd of a file bind mount's file, for its Landlock rule."""
    return os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dirfd)
