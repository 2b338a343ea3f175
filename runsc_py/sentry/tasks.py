"""Tasks and the process tree: the sentry's table of who runs in the sandbox.

A Task is one workload thread (a host thread); a Process is a thread group
with what its threads share: the fd table, the fs context (cwd, umask),
credentials, the parent, the exit status. Everything a workload can learn
about processes comes from here.

Virtual ids: the workload runs in a fresh host pid namespace, so the pid
the kernel reports inside it (fork's return, wait4's) is the one the
sentry records as the virtual pid (read from NSpid). The sentry keeps the
mapping both ways; nothing in the workload ever sees a host pid.
"""
from __future__ import annotations

import itertools

from runsc_py.sentry.credentials import Credentials  # noqa: F401 - re-exported
from runsc_py.sentry.fdtable import FdTable
from runsc_py.sentry.zombies import Zombies


class FsContext:
    """What CLONE_FS shares: the working directory and the root (canonical guest
    paths; the root is "/" unless the process chroot'ed) and umask."""

    __slots__ = ("cwd", "umask", "root")

    def __init__(self, cwd: str = "/", umask: int = 0o022, root: str = "/"):
        self.cwd = cwd
        self.umask = umask
        self.root = root

    def copy(self) -> "FsContext":
        return FsContext(self.cwd, self.umask, self.root)

    def __repr__(self) -> str:
        return f"FsContext(cwd={self.cwd!r}, umask={self.umask:#o}, root={self.root!r})"


# /proc/<pid>/ns's inode numbers (fs/proc/namespaces.py): the sandbox-wide
# namespaces take the first few, each UTS and mount namespace its own. Linux
# numbers its initial namespaces just below 0xF0000000 and new ones up from
# it, so these are far above any the host is likely to have made.
NSFS_FIRST = 0xFF000000
_ns_inums = itertools.count(NSFS_FIRST + 16)


def new_namespace_inum() -> int:
    """The /proc/<pid>/ns number of a namespace the sandbox makes."""
    return next(_ns_inums)


class Uts:
    """A UTS namespace: the host and domain names uname(2) gives. Every
    process shares its parent's; unshare(CLONE_NEWUTS) gives the caller a
    copy of its own (syscalls/process.py)."""

    __slots__ = ("hostname", "domainname", "inum")

    def __init__(self, hostname: str, domainname: str):
        self.hostname = hostname
        self.domainname = domainname
        self.inum = new_namespace_inum()   # its /proc/<pid>/ns/uts number

    def copy(self) -> "Uts":
        return Uts(self.hostname, self.domainname)


class Process:
    def __init__(self, vpid: int, parent: "Process | None", fds: FdTable, fs: FsContext,
                 creds: Credentials, exe: str = "", comm: bytes = b""):
        self.vpid = vpid
        self.parent = parent
        self.fds = fds
        self.fs = fs
        self.creds = creds
        self.exe = exe
        self.comm = comm
        self.pgid = parent.pgid if parent else vpid
        self.sid = parent.sid if parent else vpid
        self.threads: dict[int, Task] = {}  # by host tid
        self.exit_status: int | None = None
        self.pidfd: int | None = None       # host pidfd, to borrow fds with pidfd_getfd
        self.subreaper = False              # PR_SET_CHILD_SUBREAPER
        self.nproc_exceeded = False         # PF_NPROC_EXCEEDED: set_user found its user over RLIMIT_NPROC
        self.exited_leader: Task | None = None  # a zombie's leader, as it was at its exit
        # guest fds whose reads a filter of this process's traces (sentry/signalfd_reads.py)
        self.reads_traced: set[int] = set()
        # the limits the sentry keeps (sentry/limits.py SANDBOX_RLIMITS): the parent's
        self.rlimits: dict[int, tuple[int, int]] = dict(parent.rlimits) if parent else {}
        # its UTS namespace: the parent's; None is the sandbox's own (kernel.uts)
        self.uts: Uts | None = parent.uts if parent else None
        # its mount namespace (sentry/mountns.py): the parent's; None is the sandbox's first
        self.mntns = parent.mntns if parent else None

    @property
    def vppid(self) -> int:
        return self.parent.vpid if self.parent and self.parent.exit_status is None else 0

    # Credentials are per thread on Linux: a raw setresuid in one thread
    # leaves its siblings as they were (glibc's setuid then makes the same
    # call in every thread). While the threads agree they share `creds`;
    # once one changes alone, every thread holds its own (`Task.own_creds`)
    # and `creds` is the one of the thread being answered (Kernel.answering
    # puts it there), so every handler's `ctx.process.creds` is the caller's.

    def creds_to_change(self, task: "Task") -> Credentials:
        """The credentials `task` (the caller) is about to change: its own."""
        if len(self.threads) > 1 and task.own_creds is None:
            for t in self.threads.values():
                t.own_creds = self.creds if t is task else self.creds.copy()
        return self.creds

    def creds_changed(self) -> None:
        """After a change: threads whose credentials agree again share them."""
        own = [t.own_creds for t in self.threads.values()]
        if own and own[0] is not None and all(c == own[0] for c in own):
            for t in self.threads.values():
                t.own_creds = None

    def thread_left(self, task: "Task") -> None:
        """`task` exited: its siblings' credentials are what others see now."""
        if task.own_creds is not None and self.threads:
            self.creds = self.leader.creds
            self.creds_changed()

    @property
    def leader(self) -> "Task | None":
        """The thread whose id is the pid (else any, once the leader exited)."""
        for task in self.threads.values():
            if task.vtid == self.vpid:
                return task
        return next(iter(self.threads.values()), None)

    def creds_of_one_thread(self, task: "Task") -> None:
        """`task` is the process's only thread now (an exec): its credentials are the process's."""
        if task.own_creds is not None:
            self.creds = task.own_creds
            task.own_creds = None


class Task:
    __slots__ = ("host_tid", "vtid", "process", "exec_pending", "own_comm", "own_creds",
                 "own_cpus")

    def __init__(self, host_tid: int, vtid: int, process: Process):
        self.host_tid = host_tid
        self.vtid = vtid
        self.process = process
        self.exec_pending = None  # sentry/exec.py's PendingExec, applied once exec succeeds
        # A thread's name is its own (PR_SET_NAME, task/<tid>/comm); the
        # leader's is the process's (`Process.comm`, set at exec).
        self.own_comm: bytes | None = None
        # Its credentials when they differ from a sibling's (Process.creds_to_change)
        self.own_creds: Credentials | None = None
        # Whether its host CPU mask is one it chose (sched_setaffinity) or
        # inherited from a task that did, rather than the sandbox's pin
        # (syscalls/process.py's sched_getaffinity)
        self.own_cpus = False

    @property
    def creds(self) -> Credentials:
        return self.process.creds if self.own_creds is None else self.own_creds

    @property
    def comm(self) -> bytes:
        return self.process.comm if self.own_comm is None else self.own_comm

    @comm.setter
    def comm(self, name: bytes) -> None:
        if self.vtid == self.process.vpid:
            self.process.comm = name
        else:
            self.own_comm = name

    def __repr__(self) -> str:
        return f"Task(vtid={self.vtid}, host={self.host_tid}, vpid={self.process.vpid})"


class TaskTable:
    def __init__(self):
        self.by_host_tid: dict[int, Task] = {}
        self.processes: dict[int, Process] = {}  # by vpid, while alive
        self.zombies = Zombies()                 # exited, not yet reaped by their parent
        self.init: Process | None = None
        # real uids of processes that exited, by vpid, until the pid is reused
        # (or the oldest are dropped): a SIGCHLD or waitid names them after
        self.exited_uids: dict[int, int] = {}

    EXITED_UIDS_KEPT = 4096

    def remember_exited(self, proc: Process) -> None:
        self.exited_uids.pop(proc.vpid, None)
        self.exited_uids[proc.vpid] = proc.creds.uid
        if len(self.exited_uids) > self.EXITED_UIDS_KEPT:
            del self.exited_uids[next(iter(self.exited_uids))]

    def add(self, task: Task) -> None:
        self.by_host_tid[task.host_tid] = task
        task.process.threads[task.host_tid] = task
        self.processes[task.process.vpid] = task.process

    def remove(self, host_tid: int) -> Task | None:
        """Forget an exited thread; returns it. Its process goes with its last thread."""
        task = self.by_host_tid.pop(host_tid, None)
        if task is None:
            return None
        proc = task.process
        proc.threads.pop(host_tid, None)
        if not proc.threads:
            self.processes.pop(proc.vpid, None)
        else:
            proc.thread_left(task)
        return task

    def rekey(self, task: Task, new_host_tid: int, new_vtid: int) -> None:
        """A non-leader thread exec'd: it now has the leader's ids."""
        self.by_host_tid.pop(task.host_tid, None)
        task.process.threads.pop(task.host_tid, None)
        task.host_tid, task.vtid = new_host_tid, new_vtid
        self.add(task)

    def host_pid_of(self, vpid: int) -> int | None:
        proc = self.processes.get(vpid)
        leader = proc.leader if proc is not None else None
        return leader.host_tid if leader is not None else None

    def by_vtid(self, vtid: int) -> Task | None:
        """The thread with that id in the sandbox's pid namespace."""
        return next((t for t in self.by_host_tid.values() if t.vtid == vtid), None)

    def __len__(self) -> int:
        return len(self.by_host_tid)
