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

import errno
import os
import socket
import stat as statmod

from runsc_py._interpose import lib
from runsc_py.gofer import protocol as p
from runsc_py.sentry.stat import Stat

RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_IN_ROOT = 0x10
RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Gofer:
    def __init__(self, root_fd: int, readonly: bool):
        self.root_fd = root_fd
        self.readonly = readonly

    def serve(self, sock: socket.socket) -> None:
        """Answer requests until the sentry hangs up."""
        buf = bytearray(p.REQUEST.size + 4096)  # requests carry at most a path
        view = memoryview(buf)
        while True:
            n = sock.recv_into(buf)
            if not n:
                return
            msg = bytes(view[:n])
            fds: list[int] = []
            try:
                reply = self.handle(msg, fds)
            except OSError as exc:
                reply = p.REPLY.pack(exc.errno or errno.EIO, 0)
            try:
                socket.send_fds(sock, [reply], fds) if fds else sock.send(reply)
            finally:
                for fd in fds:
                    os.close(fd)

    def handle(self, msg: bytes, fds: list[int]) -> bytes:
        op, path, open_flags, offset = p.unpack_request(msg)
        if op == p.LOOKUP:
            return self.lookup(path, open_flags, fds)
        if op == p.READDIR:
            return self.readdir(path, offset)
        raise OSError(errno.EINVAL, "unknown gofer op")

    def _openat2(self, path: str, flags: int, dirfd: int | None = None) -> int:
        fd = lib.rp_openat2(self.root_fd if dirfd is None else dirfd,
                            (path or ".").encode("utf-8", "surrogateescape"),
                            flags | os.O_CLOEXEC | os.O_NOFOLLOW, 0, RESOLVE)
        if fd < 0:
            raise OSError(-fd, os.strerror(-fd))
        return fd

    def lookup(self, path: str, open_flags: int, fds: list[int]) -> bytes:
        try:
            fd = self._openat2(path, os.O_PATH)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            return self._symlink_midway(path)
        try:
            st = os.fstat(fd)
            body = p.pack_stat(Stat.from_os(st))
            if statmod.S_ISLNK(st.st_mode):
                return p.REPLY.pack(0, p.FOUND) + body + os.fsencode(os.readlink("", dir_fd=fd))
        finally:
            os.close(fd)
        if open_flags >= 0:
            fds.append(self._open(path, open_flags, st.st_mode))
        return p.REPLY.pack(0, p.FOUND) + body

    def _open(self, path: str, flags: int, mode: int) -> int:
        if self.readonly and flags & WRITE_FLAGS:
            raise OSError(errno.EROFS, "read-only root")
        if statmod.S_ISCHR(mode) or statmod.S_ISBLK(mode):
            raise OSError(errno.EACCES, "device nodes are not opened from the rootfs")
        if statmod.S_ISFIFO(mode):
            flags |= os.O_NONBLOCK  # the gofer must never block
        return self._openat2(path, flags & ~os.O_CREAT)

    def _symlink_midway(self, path: str) -> bytes:
        """Find the first symlink on `path`; report how far and where it points."""
        names = path.split("/")
        dirfd = os.dup(self.root_fd)
        try:
            for i, name in enumerate(names):
                fd = self._openat2(name, os.O_PATH, dirfd)
                os.close(dirfd)
                dirfd = fd
                if statmod.S_ISLNK(os.fstat(fd).st_mode):
                    target = os.fsencode(os.readlink("", dir_fd=fd))
                    return p.REPLY.pack(0, p.SYMLINK) + p.CONSUMED.pack(i + 1) + target
        finally:
            os.close(dirfd)
        raise OSError(errno.ELOOP, "symlink vanished during the walk")

    def readdir(self, path: str, offset: int) -> bytes:
        fd = self._openat2(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with os.scandir(fd) as it:
                names = sorted(os.fsencode(e.name) for e in it)
            chunk = names[offset: offset + p.ENTRIES_PER_REPLY]
            body = b"".join(self._dirent(fd, name) for name in chunk)
        finally:
            os.close(fd)
        more = offset + len(chunk) < len(names)
        return p.REPLY.pack(0, p.ENTRIES) + bytes([more]) + body

    @staticmethod
    def _dirent(dirfd: int, name: bytes) -> bytes:
        """One entry with its attributes, as lstat sees them (no symlink followed)."""
        try:
            st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        except OSError:  # gone since the listing: report it with no attributes
            return p.DIRENT.pack(0, 0, len(name), 0) + name + bytes(p.STAT.size)
        link = os.fsencode(os.readlink(name, dir_fd=dirfd)) if statmod.S_ISLNK(st.st_mode) else b""
        return (p.DIRENT.pack(st.st_ino, statmod.S_IFMT(st.st_mode) >> 12, len(name), len(link))
                + name + p.pack_stat(Stat.from_os(st)) + link)


# What serving needs, and nothing that names a path from the process's root
# or cwd (open, openat, stat, execve...): every file is reached through the
# root fd with openat2, or through an fd it returned. Python's own needs
# (memory, signals, futexes) are here too. Everything else fails with EPERM.
ALLOWED_SYSCALLS = {
    0: "read", 1: "write", 3: "close", 5: "fstat", 8: "lseek", 9: "mmap", 10: "mprotect",
    11: "munmap", 12: "brk", 13: "rt_sigaction", 14: "rt_sigprocmask", 15: "rt_sigreturn",
    25: "mremap", 28: "madvise", 32: "dup", 39: "getpid", 44: "sendto", 45: "recvfrom",
    46: "sendmsg", 47: "recvmsg", 60: "exit", 72: "fcntl", 131: "sigaltstack", 186: "gettid",
    202: "futex", 217: "getdents64", 228: "clock_gettime", 231: "exit_group",
    262: "newfstatat", 267: "readlinkat", 273: "set_robust_list", 318: "getrandom",
    332: "statx", 334: "rseq", 437: "openat2",
}


def run(sock: socket.socket, root: str, readonly: bool) -> None:
    """The gofer process's main: confine itself to the root, then serve."""
    import ctypes

    from runsc_py.platform.policy import confine_self

    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the sentry
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    os.chroot(root)
    os.chdir("/")
    confine_self(ALLOWED_SYSCALLS, errno.EPERM)
    Gofer(root_fd, readonly).serve(sock)
