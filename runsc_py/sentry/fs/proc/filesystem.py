"""/proc's root: the sandbox's processes, self, thread-self and the system files.

Only the sandbox's own processes are listed, by the pid its namespace gives
them, zombies included until their parent reaps them (sentry/zombies.py); a
thread's id is accepted as a directory too but not listed, as on Linux. `self` and `thread-self` need the caller: the kernel keeps the task
whose syscall is being answered (`kernel.current`).

Every sandbox mounts a procfs as it boots, and walks its root for the
masked and read-only paths, but most workloads never look inside a
process's directory or /proc/sys: process.py (with fdlinks, mounts, net)
and sysctl.py are imported, and /proc/sys's table built, at the first walk
into them (~1 ms of every sandbox's start-up otherwise).
"""
from __future__ import annotations

import errno
from collections.abc import Callable

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.proc import system
from runsc_py.sentry.fs.synthetic import Dir, Entry, File, Link, SyntheticFilesystem

PROC_SUPER_MAGIC = 0x9FA0


class ProcFilesystem(SyntheticFilesystem):
    fstype = "proc"
    magic = PROC_SUPER_MAGIC
    readonly = False   # as Linux mounts it: /proc/sys takes writes (sysctl.py)

    def __init__(self, kernel, dir_fd_source: Callable[[], int],
                 host_paths: list[tuple[str, str]] = (("/", "/"),)):
        """host_paths: (host path, guest mountpoint) of the sandbox's root and
        bind mounts, to name host files (in maps, passed-in fds) as it does."""
        self.kernel = kernel
        self.host_paths = list(host_paths)
        self.host_root = self.host_paths[0][0]   # the root's: the first
        self._sys: Dir | None = None             # /proc/sys, built at the first walk into it
        k = kernel
        self._system: dict[str, Entry] = {
            "self": Link(self._self_target, size=0),
            "thread-self": Link(self._thread_self_target, size=0),
            "mounts": Link(lambda: "self/mounts"),
            "net": Link(lambda: "self/net"),
            "cpuinfo": File(lambda: system.render_cpuinfo(k)),
            "meminfo": File(lambda: system.render_meminfo(k)),
            "stat": File(lambda: system.render_stat(k)),
            "uptime": File(system.render_uptime),
            "loadavg": File(lambda: system.render_loadavg(k)),
            "version": File(system.render_version),
            "cmdline": File(system.render_cmdline),
            "devices": File(system.render_devices),
            "filesystems": File(system.render_filesystems),
            "swaps": File(system.render_swaps),
            "sys": Dir(self._sys_children),
        }
        super().__init__(Dir(self._root_listing, child=self._root_child), dir_fd_source,
                         writebacks=kernel.writebacks)

    # Removing: EPERM (no such operation) at the root and in the process
    # directories; /proc/sys's directories refuse the write permission first.
    def unlink(self, path: str) -> None:
        raise SyscallError(errno.EACCES if path.startswith("sys/") else errno.EPERM)

    def rmdir(self, path: str) -> None:
        raise SyscallError(errno.EACCES if path.startswith("sys/") else errno.EPERM)

    def rename(self, old: str, new: str, flags: int) -> None:
        raise SyscallError(errno.EACCES if old.startswith("sys/") else errno.EPERM)

    def _sys_children(self) -> dict[str, Entry]:
        if self._sys is None:
            from runsc_py.sentry.fs.proc.sysctl import sys_tree

            self._sys = sys_tree(self.kernel)
        return self._sys.children()

    def _root_listing(self) -> dict[str, Entry]:
        from runsc_py.sentry.fs.proc.process import ProcessView

        listed: dict[str, Entry] = dict(self._system)
        tasks = self.kernel.tasks
        procs = {**{p.vpid: p for p in tasks.zombies.all()}, **tasks.processes}
        for pid in sorted(procs):
            listed[str(pid)] = ProcessView(self, procs[pid]).directory()
        return listed

    def _root_child(self, name: str) -> Entry | None:
        return self._system.get(name) or self.process_dir(name)

    def process_dir(self, name: str) -> Dir | None:
        if not name.isdigit() or name != str(int(name)):   # "01" is not pid 1
            return None
        from runsc_py.sentry.fs.proc.process import ProcessView

        tasks = self.kernel.tasks
        proc = tasks.processes.get(int(name)) or tasks.zombies.get(int(name))
        if proc is not None:
            return ProcessView(self, proc).directory()
        for task in list(tasks.by_host_tid.values()):  # a thread: reachable, not listed
            if task.vtid == int(name):
                return ProcessView(self, task.process, task).directory()
        return None

    def _self_target(self) -> str:
        return str(self._caller().process.vpid)

    def _thread_self_target(self) -> str:
        task = self._caller()
        return f"{task.process.vpid}/task/{task.vtid}"

    def _caller(self):
        if self.kernel.current is None:
            raise SyscallError(errno.ENOENT)
        return self.kernel.current
