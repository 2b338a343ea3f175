"""The Kernel: one sandbox's sentry, the owner of every name its workload sees.

It holds the task table, the VFS, the gofer connection and the syscall
table, and it is what the platform calls: `handle_syscall` for each
trapped call, `on_clone`/`on_exec`/`on_exit` for lifecycle events. Single
threaded: everything happens on the platform's one event loop.
"""
from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import stat as statmod
import sys
import traceback

from runsc_py._interpose import lib
from runsc_py.gofer.client import GoferGone
from runsc_py.platform.policy import Policy
from runsc_py.sentry import signals
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import FdTable, OpenFile
from runsc_py.sentry.limits import SandboxLimits
from runsc_py.sentry.tasks import Credentials, FsContext, Process, Task, TaskTable
from runsc_py.sentry.vfs import VFS
from runsc_py.syscalls.context import Abandoned, SyscallContext

CLONE_FS, CLONE_FILES, CLONE_THREAD, CLONE_PARENT = 0x200, 0x400, 0x10000, 0x8000
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Kernel:
    def __init__(self, platform, vfs: VFS, table, *, hostname: str = "runsc-py",
                 strace=None, report=None, gofer_socket=None, namespaces: bool = True):
        self.platform = platform
        self.vfs = vfs
        self.table = table
        self.tasks = TaskTable()
        self.hostname = hostname
        self.domainname = "(none)"
        self.limits = SandboxLimits()
        self.sysctl: dict[str, str] = {}     # /proc/sys values the configuration set ("kernel.x")
        self.strace = strace
        self.report = report
        self.namespaces = namespaces
        self.exit_status: int | None = None  # wait status of the sandbox's init
        self.finished = 0                    # nonzero stops the platform's loop
        self.failure: str | None = None      # why the sandbox was torn down, if it was
        self._init_fate: int | None = None   # the signal the sentry killed init with
        self.current: Task | None = None     # the task whose syscall is being answered
        self._gofer_socket = gofer_socket
        vfs.caller_creds = self._caller_creds
        vfs.caller_root = self._caller_root

    def _caller_creds(self):
        return self.current.process.creds if self.current is not None else None

    def _caller_root(self) -> str:
        return self.current.process.fs.root if self.current is not None else "/"

    # -- start and run ---------------------------------------------------

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> int:
        """Run argv as the sandbox's init; returns its wait status."""
        path = self.find_command(argv[0], env.get("PATH", DEFAULT_PATH), cwd)
        envp = [os.fsencode(f"{k}={v}") for k, v in env.items()]
        self.platform.set_fast_path(self.strace is None)
        host_pid = self.platform.start(self, os.fsencode(path), [os.fsencode(a) for a in argv],
                                       envp, self.table.policies(), self.namespaces)
        self._register_init(host_pid, cwd)
        self.tasks.init.exe = self.vfs.resolve(cwd, path).path   # what /proc/1/exe names
        self.tasks.init.comm = os.fsencode(os.path.basename(path))[:15]
        if self._gofer_socket is not None:
            self.platform.watch(self._gofer_socket.fileno(), self._on_gofer_event)
        self.platform.run()
        if self.exit_status is None:  # the loop ended with init never reaped
            return 127 << 8
        return self.exit_status

    def find_command(self, name: str, path_var: str, cwd: str) -> str:
        """Look a command up as execvp would, in the sandbox's file system."""
        candidates = [name] if "/" in name else [os.path.join(d or ".", name) for d in path_var.split(":")]
        for cand in candidates:
            try:
                res = self.vfs.resolve(cwd, cand)
            except SyscallError:
                continue
            if statmod.S_ISREG(res.stat.mode) and res.stat.mode & 0o111:
                return cand
        raise FileNotFoundError(errno.ENOENT, f"{name}: command not found in the sandbox")

    def _register_init(self, host_pid: int, cwd: str) -> None:
        fds = FdTable(limit=_nofile_limit())
        for fd in (0, 1, 2):
            if _is_open(fd):
                fds.install(fd, OpenFile("host", path=f"host:[{fd}]"))
        init = Process(self._vpid_of(host_pid), None, fds, FsContext(cwd=cwd), Credentials(
            uid=os.getuid(), euid=os.geteuid(), suid=os.geteuid(),
            gid=os.getgid(), egid=os.getegid(), sgid=os.getegid(),
            fsuid=os.geteuid(), fsgid=os.getegid()))
        init.pidfd = os.pidfd_open(host_pid)
        self.tasks.init = init
        self._add_task(Task(host_pid, init.vpid, init))

    def _vpid_of(self, host_tid: int) -> int:
        """The id the workload's pid namespace gives this host thread (NSpid)."""
        if not self.namespaces:
            return host_tid
        with open(f"/proc/{host_tid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"NSpid:"):
                    return int(line.split()[-1])
        raise OSError(errno.ESRCH, f"no NSpid for {host_tid}")

    def _add_task(self, task: Task) -> None:
        self.tasks.add(task)
        self._publish(task)

    def _publish(self, task: Task) -> None:
        c = task.process.creds
        self.platform.publish_ids(task.host_tid, task.process.vpid, task.vtid,
                                  task.process.vppid, c.uid, c.euid, c.gid, c.egid)

    # -- trapped syscalls ------------------------------------------------

    def handle_syscall(self, call):
        task = self.tasks.by_host_tid.get(call.tid)
        if task is None:  # cannot happen: children run only once registered
            return -errno.ESRCH
        self.current = task
        if task.process.fds.quarantine:
            task.process.fds.settle(call.tid)
        entry = self.table.rows.get(call.nr)
        ctx = SyscallContext(self, task, call)
        if entry is None or entry.handler is None:
            if self.report is not None:
                self.report.unimplemented(call.nr)
            result = -errno.ENOSYS
        else:
            result = self._invoke(ctx, entry, call)
        if self.strace is not None:
            self.strace.record(ctx, entry, result)
        return result

    def _invoke(self, ctx: SyscallContext, entry, call):
        try:
            return entry.handler(ctx, *call.args[: entry.nargs])
        except SyscallError as exc:
            return -exc.errno
        except OSError as exc:  # a host call made for the workload said no: that is the answer
            return -(exc.errno or errno.EIO)
        except Abandoned:
            return -errno.EINTR
        except GoferGone as exc:
            self.fail_closed(f"the gofer is gone ({exc})")
            return -errno.EIO
        except Exception:  # noqa: BLE001 - a sentry bug must not take the sandbox down
            sys.stderr.write(f"runsc-py: sentry error in {entry.name}:\n{traceback.format_exc()}")
            return -errno.EIO

    def answers(self, nr: int) -> bool:
        """Whether the sentry, not the host, answers syscall `nr` (all but native and denied)."""
        entry = self.table.rows.get(nr)
        return entry is None or entry.policy is Policy.TRAP

    def exec_fd_number(self, host_tid: int) -> int:
        """A free guest fd for the file an exec is about to run (close-on-exec)."""
        fds = self.tasks.by_host_tid[host_tid].process.fds
        fd = fds.lowest_free()
        fds.quarantine[fd] = host_tid
        return fd

    def borrow_fd(self, task: Task, guest_fd: int) -> int:
        """A sentry-side copy of the host fd behind a guest fd (the caller closes it)."""
        fd = lib.rp_pidfd_getfd(task.process.pidfd, guest_fd)
        if fd < 0:
            raise SyscallError(errno.EBADF)
        return fd

    # -- lifecycle events from the platform ------------------------------

    def knows(self, host_tid: int) -> bool:
        return host_tid in self.tasks.by_host_tid

    def on_clone(self, parent_tid: int, child_tid: int, flags: int) -> None:
        parent = self.tasks.by_host_tid[parent_tid].process
        vtid = self._vpid_of(child_tid)
        if flags & CLONE_THREAD:
            proc = parent
        else:
            proc = Process(
                vtid,
                parent.parent if flags & CLONE_PARENT and parent.parent else parent,
                parent.fds if flags & CLONE_FILES else parent.fds.fork(),
                parent.fs if flags & CLONE_FS else parent.fs.copy(),
                parent.creds.copy(), parent.exe, parent.comm)
            proc.pgid, proc.sid = parent.pgid, parent.sid
            proc.pidfd = os.pidfd_open(child_tid)
        self._add_task(Task(child_tid, vtid, proc))

    def on_exec(self, host_tid: int, former_tid: int) -> None:
        task = self.tasks.by_host_tid.get(former_tid)
        if task is None:
            return
        proc = task.process
        if former_tid != host_tid:  # a non-leader exec'd: it becomes the leader
            for other in list(proc.threads.values()):
                if other is not task:
                    self.tasks.remove(other.host_tid)
                    self.platform.retract_ids(other.host_tid)
            self.platform.retract_ids(former_tid)
            self.tasks.rekey(task, host_tid, proc.vpid)
        proc.fds.on_exec()
        if task.exec_pending:
            proc.exe, proc.comm = task.exec_pending
            task.exec_pending = None
        self._publish(task)

    def on_exit(self, host_tid: int, status: int) -> None:
        task = self.tasks.remove(host_tid)
        self.platform.retract_ids(host_tid)
        if task is not None and not task.process.threads:
            proc = task.process
            proc.exit_status = status
            if proc.pidfd is not None:
                os.close(proc.pidfd)
                proc.pidfd = None
            if proc is self.tasks.init:
                self.exit_status = self._init_fate or status
                self._kill_all()  # as when a pid namespace's init dies
        if self.exit_status is not None and len(self.tasks) == 0:
            self.finished = 1

    # -- signals the sentry decides (sentry/signals.py) --------------------

    def apply_default_to_init(self, sig: int) -> bool:
        """Do for the sandbox's init what Linux does for a process without a
        handler: die, or stop. Returns False when init handles or ignores sig."""
        init = self.tasks.init
        host = self.tasks.host_pid_of(init.vpid) if init else None
        if host is None:
            return False
        if signals.default_is_fatal(host, sig):
            self._init_fate = sig
            os.kill(host, signal.SIGKILL)
            return True
        if signals.default_is_stop(host, sig):
            os.kill(host, signal.SIGSTOP)  # from outside the namespace: always delivered
            return True
        return False

    def signal_delivery(self, host_tid: int, sig: int) -> int:
        """A signal is about to be delivered (ptrace signal-delivery-stop):
        returns the signal to deliver, or 0 when the sentry acted instead."""
        task = self.tasks.by_host_tid.get(host_tid)
        if task is not None and task.process is self.tasks.init and self.apply_default_to_init(sig):
            return 0
        return sig

    # -- failing closed ----------------------------------------------------

    def fail_closed(self, why: str) -> None:
        """Something the sandbox cannot run without is gone: kill the workload."""
        if self.failure is None:
            self.failure = why
            sys.stderr.write(f"runsc-py: {why}; killing the sandbox\n")
        if self.exit_status is None:
            self.exit_status = signal.SIGKILL
        self._kill_all()
        if len(self.tasks) == 0:
            self.finished = 1

    def _on_gofer_event(self, _events: int) -> None:
        try:
            data = self._gofer_socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.platform.unwatch(self._gofer_socket.fileno())
            self.fail_closed("the gofer died")

    def _kill_all(self) -> None:
        for tid in list(self.tasks.by_host_tid):
            with contextlib.suppress(ProcessLookupError):  # already on its way out
                os.kill(tid, signal.SIGKILL)


def _nofile_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
