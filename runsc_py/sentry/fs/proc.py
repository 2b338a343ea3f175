"""The sandbox's /proc, as far as the foundation needs it.

Only the sandbox's own processes, by virtual pid, and for each the links a
program follows: `exe` (busybox re-execs itself through /proc/self/exe),
`cwd`, `root`; plus `self`. The links are guest paths the
sentry's VFS resolves, never the host's magic links. The rest of procfs
(stat, status, maps, fd/, meminfo, ...) comes with the VFS issue.
"""
from __future__ import annotations

import errno
import stat as statmod
from collections.abc import Callable

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.vfs import Filesystem, Lookup

LINKS = ("cwd", "exe", "root")


class ProcFilesystem(Filesystem):
    readonly = True
    fstype = "proc"

    def __init__(self, kernel, dir_fd_source: Callable[[], int]):
        self.kernel = kernel
        self.dir_fd_source = dir_fd_source

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        names = path.split("/") if path else []
        if not names:
            return self._dir(1, open_flags)
        head = names[0]
        if head == "self":
            return self._link(names, 1, self._self_target())
        proc = self._process(head)
        if len(names) == 1:
            return self._dir(proc.vpid + 100, open_flags)
        if names[1] not in LINKS:
            raise SyscallError(errno.ENOENT)
        target = {"cwd": proc.fs.cwd, "exe": proc.exe, "root": "/"}[names[1]]
        if not target:
            raise SyscallError(errno.ENOENT)
        return self._link(names, 2, target)

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        if not path:
            pids = sorted(self.kernel.tasks.processes)
            return [(2, 10, b"self")] + [
                (pid + 100, 4, str(pid).encode()) for pid in pids]
        if "/" in path:
            raise SyscallError(errno.ENOTDIR)
        proc = self._process(path)
        return [(proc.vpid * 8 + i, 10, name.encode()) for i, name in enumerate(LINKS)]

    # -- helpers ----------------------------------------------------------

    def _self_target(self) -> str:
        task = self.kernel.current
        if task is None:
            raise SyscallError(errno.ENOENT)
        return str(task.process.vpid)

    def _process(self, name: str):
        proc = self.kernel.tasks.processes.get(int(name)) if name.isdigit() else None
        if proc is None:
            raise SyscallError(errno.ENOENT)
        return proc

    def _dir(self, ino: int, open_flags: int) -> Lookup:
        st = Stat(statmod.S_IFDIR | 0o555, ino, 0, 2, 0, 0, 0, 0, 4096, 0, 0, 0, 0)
        return Lookup("found", stat=st, fd=self.dir_fd_source() if open_flags >= 0 else None)

    @staticmethod
    def _link(names: list[str], depth: int, target: str) -> Lookup:
        if len(names) > depth:  # a link in the middle of the path
            return Lookup("symlink", consumed=depth, target=target)
        st = Stat(statmod.S_IFLNK | 0o777, depth, 0, 1, 0, 0, 0, len(target), 4096, 0, 0, 0, 0)
        return Lookup("found", stat=st, target=target)
