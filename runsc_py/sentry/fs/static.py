"""A small read-only tree the sentry makes up: devfs, and empty /proc and /sys.

Directories here have no host object of their own; opening one installs a
fresh host directory fd from `dir_fd_source` so the guest fd number is
occupied by something that behaves like a directory (read gives EISDIR),
while getdents64 is answered from this tree. Device nodes are real host
devices the sentry opened at start-up; each guest open reopens them, so it
gets its own open file description as on Linux.
"""
from __future__ import annotations

import errno
import os
import stat as statmod
import time
from collections.abc import Callable

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.vfs import Filesystem, Lookup

_BOOT_NS = time.time_ns()


class StaticFilesystem(Filesystem):
    readonly = True

    def __init__(self, dir_fd_source: Callable[[], int], fstype: str = "tmpfs"):
        self.dir_fd_source = dir_fd_source
        self.fstype = fstype
        self.dirs: dict[str, list[str]] = {"": []}
        self.devices: dict[str, int] = {}   # path -> host fd held by the sentry
        self._inodes: dict[str, int] = {"": 1}

    def add_dir(self, path: str) -> None:
        self._add(path)
        self.dirs[path] = []

    def add_device(self, path: str, host_fd: int) -> None:
        self._add(path)
        self.devices[path] = host_fd

    def _add(self, path: str) -> None:
        parent, _, name = path.rpartition("/")
        self.dirs[parent].append(name)
        self._inodes[path] = len(self._inodes) + 1

    def _stat(self, path: str) -> Stat:
        if path in self.devices:
            st = os.fstat(self.devices[path])
            return Stat(st.st_mode, self._inodes[path], 0, 1, 0, 0, st.st_rdev, 0, 4096, 0,
                        _BOOT_NS, _BOOT_NS, _BOOT_NS)
        if path in self.dirs:
            return Stat(statmod.S_IFDIR | 0o755, self._inodes[path], 0, 2, 0, 0, 0, 0, 4096, 0,
                        _BOOT_NS, _BOOT_NS, _BOOT_NS)
        raise SyscallError(errno.ENOENT)

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        names = path.split("/") if path else []
        for i in range(len(names) - 1):
            if "/".join(names[: i + 1]) not in self.dirs:
                prefix = "/".join(names[: i + 1])
                raise SyscallError(errno.ENOTDIR if prefix in self.devices else errno.ENOENT)
        st = self._stat(path)
        fd = None
        if open_flags >= 0:
            fd = self._open(path, open_flags)
        return Lookup("found", stat=st, fd=fd)

    def _open(self, path: str, flags: int) -> int:
        if path in self.dirs:
            if flags & (os.O_WRONLY | os.O_RDWR):
                raise SyscallError(errno.EISDIR)
            return self.dir_fd_source()
        flags &= ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_DIRECTORY | os.O_NOFOLLOW)
        return os.open(f"/proc/self/fd/{self.devices[path]}", flags | os.O_CLOEXEC)

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        if path not in self.dirs:
            raise SyscallError(errno.ENOTDIR)
        out = []
        for name in self.dirs[path]:
            child = f"{path}/{name}" if path else name
            dtype = 4 if child in self.dirs else 2  # DT_DIR, DT_CHR
            out.append((self._inodes[child], dtype, name.encode()))
        return out


DEVICES = ("null", "zero", "full", "random", "urandom")


def make_devfs(dir_fd_source: Callable[[], int]) -> StaticFilesystem:
    """/dev: the harmless character devices, and empty pts/ and shm/."""
    fs = StaticFilesystem(dir_fd_source)
    for name in DEVICES:
        fs.add_device(name, os.open(f"/dev/{name}", os.O_RDWR | os.O_CLOEXEC))
    fs.add_dir("pts")
    fs.add_dir("shm")
    return fs
