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
import struct
import sys
import time

from runsc_py._interpose import lib
from runsc_py.gofer.client import GoferGone
from runsc_py.platform import NATIVE, AtExit, MemoryFault
from runsc_py.platform.policy import Policy, argument_rule_allows
from runsc_py.sentry import bugs, files, signalfd_reads, signals
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.answer_cache import AnswerCache
from runsc_py.sentry.fdtable import FdTable, OpenFile
from runsc_py.sentry.fifos import FifoOpens
from runsc_py.sentry.interrupts import Interruptions
from runsc_py.sentry.locks import LockTable
from runsc_py.sentry import limits
from runsc_py.sentry.limits import SandboxLimits
from runsc_py.sentry.tasks import Credentials, FsContext, Process, Task, TaskTable, Uts
from runsc_py.sentry.vfs import VFS
from runsc_py.sentry.writeback import WriteBacks
from runsc_py.syscalls.context import Abandoned, SyscallContext

CLONE_FS, CLONE_FILES, CLONE_THREAD, CLONE_PARENT = 0x200, 0x400, 0x10000, 0x8000
AT_NULL, AT_SECURE = 0, 23
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Kernel:
    def __init__(self, platform, vfs: VFS, table, *, hostname: str = "runsc-py",
                 strace=None, report=None, gofer_socket=None, namespaces: bool = True):
        self.platform = platform
        self.vfs = vfs
        self.table = table
        self.tasks = TaskTable()
        self.uts = Uts(hostname, "(none)")  # the sandbox's UTS namespace
        self.limits = SandboxLimits()
        self.id_mappings = None   # a container's user namespace (sentry/idmap.py)
        self.ptys = None   # devfs's PtyTable, once the VFS is built (sentry/mounts.py)
        self._mqueues = None
        # System V objects' sandbox ids: (kind, id) -> (uid, gid, cuid, cgid) (syscalls/ipc.py)
        self.ipc_owners: dict[tuple[str, int], tuple[int, int, int, int]] = {}
        self.sysctl: dict[str, str] = {}     # /proc/sys values the configuration set ("kernel.x")
        self.strace = strace
        self.report = report
        self.faults = None   # --inject's rules (syscalls/faults.py)
        self.namespaces = namespaces
        self.exit_status: int | None = None  # wait status of the sandbox's init
        self.finished = 0                    # nonzero stops the platform's loop
        self.failure: str | None = None      # why the sandbox was torn down, if it was
        self._init_fate: int | None = None   # the signal the sentry killed init with
        self.init_protected = False   # Linux's signal rule for a pid namespace's init (OCI)
        self.current: Task | None = None     # the task whose syscall is being answered
        self.job_control_stopped: set[int] = set()  # host tids in a group-stop (SIGSTOP & co)
        self._sent_for: dict[tuple[int, int], tuple[int, int]] = {}  # (vpid, sig) -> sender (vpid, uid)
        self.started = time.monotonic()      # sysinfo's uptime counts from here
        self._clones_in_flight: dict[int, int] = {}  # host tid -> CLONE_PIDFD address (or 0)
        # With the workload pinned to the sentry's CPU (--cpu-pin), the CPUs it
        # would have had, which sched_getaffinity shows it (sentry/cpus.py),
        # Linux's nr_cpu_ids and its CPU masks' size; None: not pinned, the
        # host answers
        self.cpus_shown: frozenset[int] | None = None
        self.nr_cpu_ids = self.cpu_mask_size = 0
        self._gofer_socket = gofer_socket
        self.on_process_exit = None          # callback(process, wait status): the OCI exec waiter
        self._network = None                 # the network table (sentry/net), made when first needed
        self.answer_cache = AnswerCache(vfs, platform, table)  # stat and open answers C may replay
        self.writebacks = WriteBacks()       # /proc/sys files open for writing (writeback.py)
        self.locks = LockTable()             # file locks on host-backed files (locks.py)
        self.interrupts = Interruptions(platform)  # parked calls a signal ends (interrupts.py)
        self.fifo_opens = FifoOpens(platform, self.interrupts)  # opens waiting for a partner
        self.network_factory = None          # how to make it
        vfs.caller_creds = self._caller_creds
        vfs.caller_root = self._caller_root
        vfs.inotify.loop_watch = platform.watch  # the host inotify fd behind IN_ACCESS/IN_MODIFY
        vfs.inotify.open_files = self._open_files
        vfs.open_files = self._open_files

    @property
    def network(self):
        """The sandbox's network table, built at the first socket call: most
        sandboxes make none, and building it costs start-up time."""
        if self._network is None and self.network_factory is not None:
            self._network = self.network_factory()
        return self._network

    @network.setter
    def network(self, value) -> None:
        self._network = value

    @property
    def mqueues(self):
        """The sandbox's POSIX message queues (sentry/mqueue.py), at the first mq call."""
        if self._mqueues is None:
            from runsc_py.sentry.mqueue import MessageQueues

            self._mqueues = MessageQueues()
        return self._mqueues

    def answering(self, task: Task) -> None:
        """`task`'s call is answered now: its credentials, root and mount
        namespace decide what paths name."""
        self.current = task
        if task.own_creds is not None:   # its threads' credentials differ (tasks.py)
            task.process.creds = task.own_creds
        ns = task.process.mntns or self.vfs.initial
        if ns is not self.vfs.ns:
            self.vfs.use(ns)

    def _caller_creds(self):
        return self.current.process.creds if self.current is not None else None

    def _caller_root(self) -> str:
        return self.current.process.fs.root if self.current is not None else "/"

    # -- start and run ---------------------------------------------------

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> int:
        """Run argv as the sandbox's init; returns its wait status."""
        self.spawn(argv, env, cwd)
        return self.serve()

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, *,
              root: str | None = None, creds: Credentials | None = None,
              stdio: tuple[int, int, int] | None = None, ctty: bool = False,
              rlimits: list[tuple[int, int, int]] = ()) -> int:
        """Start argv as the sandbox's init, stopped at its first exec until
        `serve` runs the loop (so a container is created before it starts).

        `root` is the host directory the workload's host root becomes,
        read-only (a container's rootfs); `creds` its credentials
        (default: the caller's); `stdio` host fds for its 0-2, and `ctty`
        to make them its controlling terminal; `rlimits` (resource, soft,
        hard) the host limits it starts with. Returns init's host pid.
        """
        path = self.find_command(argv[0], env.get("PATH", DEFAULT_PATH), cwd)
        envp = [os.fsencode(f"{k}={v}") for k, v in env.items()]
        self.platform.set_fast_path(self.strace is None and self.faults is None)
        policies, always_trap = self._policies()
        host_pid = self.platform.start(self, os.fsencode(path), [os.fsencode(a) for a in argv],
                                       envp, policies, self.namespaces,
                                       root=None if root is None else os.fsencode(root),
                                       stdio=stdio, ctty=ctty, rlimits=rlimits,
                                       always_trap=always_trap)
        self._register_init(host_pid, cwd, creds, stdio)
        _raise_own_nofile_limit()
        self.tasks.init.exe = self.vfs.resolve(cwd, path).path   # what /proc/1/exe names
        self.tasks.init.comm = os.fsencode(os.path.basename(path))[:15]
        return host_pid

    def _policies(self) -> tuple[dict, frozenset]:
        """The filter's policies, and the calls that trap whatever their
        arguments: with --inject, its calls trap even where the table lets
        them run natively (syscalls/faults.py)."""
        policies = self.table.policies()
        if self.faults is None:
            return policies, frozenset()
        numbers = self.faults.numbers()
        injected = frozenset(policies) if numbers is None else frozenset(numbers)
        for nr in injected:
            if policies.get(nr, (Policy.TRAP, 0))[0] is Policy.NATIVE:
                policies[nr] = (Policy.TRAP, 0)
        return policies, injected

    def spawn_joined(self, argv: list[str], env: dict[str, str], cwd: str, creds: Credentials,
                     stdio: tuple[int, int, int], ctty: bool = False) -> Process:
        """Start argv in the running sandbox beside init (an OCI exec): the
        same namespaces, the same sentry. `stdio` are host fds for its 0-2."""
        init_host = self.init_host()
        if init_host is None:
            raise ProcessLookupError(errno.ESRCH, "the sandbox's init has exited")
        path = self.find_command(argv[0], env.get("PATH", DEFAULT_PATH), cwd)
        envp = [os.fsencode(f"{k}={v}") for k, v in env.items()]
        host_pid = self.platform.spawn_joined(os.fsencode(path), [os.fsencode(a) for a in argv],
                                              envp, init_host, stdio, ctty)
        fds = FdTable(limit=_nofile_limit())
        for fd in (0, 1, 2):
            fds.install(fd, self._stdio_file(fd, stdio))
        proc = Process(self._vpid_of(host_pid), None, fds, FsContext(cwd=cwd), creds,
                       self.vfs.resolve(cwd, path).path, os.fsencode(os.path.basename(path))[:15])
        proc.rlimits = limits.initial_rlimits()
        if self.tasks.init:   # init's namespaces
            proc.uts, proc.mntns = self.tasks.init.uts, self.tasks.init.mntns
        proc.pidfd = os.pidfd_open(host_pid)
        self._add_task(Task(host_pid, proc.vpid, proc))
        return proc

    def serve(self) -> int:
        """Run the event loop until init is reaped; returns its wait status."""
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
        # runc's words: engines read them (docker exec exits 127 on "executable file not found")
        raise FileNotFoundError(errno.ENOENT, f'exec: "{name}": executable file not found in $PATH')

    def _register_init(self, host_pid: int, cwd: str, creds: Credentials | None,
                       stdio: tuple[int, int, int] | None = None) -> None:
        fds = FdTable(limit=_nofile_limit())
        for fd in (0, 1, 2):
            if stdio is not None or _is_open(fd):
                fds.install(fd, self._stdio_file(fd, stdio))
        init = Process(self._vpid_of(host_pid), None, fds, FsContext(cwd=cwd),
                       creds or Credentials.of_host_process())
        init.pidfd = os.pidfd_open(host_pid)
        init.rlimits = limits.initial_rlimits()
        self.tasks.init = init
        self._add_task(Task(host_pid, init.vpid, init))

    def _stdio_file(self, fd: int, stdio: tuple[int, int, int] | None) -> OpenFile:
        """What a stdio fd is to the sandbox: a pty of its own (a console) is
        its /dev/pts device, as if opened there (so fstat, ttyname and `tty`
        agree with /dev); anything else is the caller's file, passed in."""
        if stdio is not None and self.ptys is not None and os.isatty(stdio[fd]):
            number = self.ptys.find(os.fstat(stdio[fd]).st_rdev)
            if number is not None:
                res = self.vfs.resolve("/", f"/dev/pts/{number}")
                return OpenFile("device", path=res.path, flags=os.O_RDWR, mount=res.mount,
                                rel=res.rel, node=res.node)
        return OpenFile("host", path=f"host:[{fd}]")

    def _vpid_of(self, host_tid: int) -> int:
        """The id the workload's pid namespace gives this host thread (NSpid)."""
        if not self.namespaces:
            return host_tid
        fd = os.open(f"/proc/{host_tid}/status", os.O_RDONLY | os.O_CLOEXEC)
        try:
            status = os.read(fd, 4096)   # NSpid is in the first 1 KiB
        finally:
            os.close(fd)
        at = status.find(b"\nNSpid:")
        if at < 0:
            raise OSError(errno.ESRCH, f"no NSpid for {host_tid}")
        return int(status[at:status.index(b"\n", at + 1)].split()[-1])

    def _add_task(self, task: Task) -> None:
        self.tasks.add(task)
        self._publish(task)

    def _publish(self, task: Task) -> None:
        c = task.creds
        fds = task.process.fds
        fds.c_opens_off = fds.needs_c_opens_off   # (fdtable.py)
        self.platform.publish_ids(task.host_tid, task.process.vpid, task.vtid,
                                  task.process.vppid, c.uid, c.euid, c.gid, c.egid,
                                  self.answer_cache.view_of(task.process),
                                  0 if fds.c_opens_off else self.answer_cache.table_id(fds),
                                  self.answer_cache.view_of(task.process, here=True))

    def republish(self, proc: Process) -> None:
        """What the C fast path answers for a process changed (its ids, its
        parent, its fd table or root): it must answer the new at once."""
        for task in proc.threads.values():
            self._publish(task)

    def adopt_opened(self, opened: list[tuple[int, int, int, bool, int]]) -> None:
        """Opens and closes the C fast path answered: into the fd tables (answer_cache.py)."""
        self.answer_cache.adopt(opened)

    def fs_changed(self, fs) -> None:
        """A chroot or chdir: every task sharing that fs context now walks (and
        so stats) from its new root and working directory."""
        for task in list(self.tasks.by_host_tid.values()):
            if task.process.fs is fs:
                self._publish(task)

    # -- trapped syscalls ------------------------------------------------

    def handle_syscall(self, call):
        task = self.tasks.by_host_tid.get(call.tid)
        if task is None:  # cannot happen: children run only once registered
            return -errno.ESRCH
        self.answering(task)
        if task.process.fds.quarantine:
            task.process.fds.settle(call.tid)
        if self.writebacks.open:  # what the workload wrote to /proc/sys counts from now on
            self.writebacks.settle()
        inotify = self.vfs.inotify
        if inotify.host_watches is not None:  # native reads and writes come first
            inotify.settle(call.tid)
        entry = self.table.rows.get(call.nr)
        ctx = SyscallContext(self, task, call)
        if self.faults is not None:
            injected = self.faults.check(ctx, entry.name if entry else self.table.name(call.nr))
            if injected:
                if self.strace is not None:
                    self.strace.record(ctx, entry, -injected, injected=True)
                return -injected
        if entry is not None and entry.handler is None and entry.pointers is not None:
            result = NATIVE   # a native row, trapped only for --inject
        elif entry is None or entry.handler is None:
            if self.report is not None:
                self.report.unimplemented(call.nr)
            result = -errno.ENOSYS
        else:
            result = self._invoke(ctx, entry, call)
            fds = task.process.fds
            if fds.needs_c_opens_off != fds.c_opens_off:  # before the answer lets the caller on
                for other in list(self.tasks.by_host_tid.values()):  # CLONE_FILES shares it
                    if other.process.fds is fds:
                        self._publish(other)
        inotify.settled = False
        if self.strace is not None:
            self.strace.record(ctx, entry, result)
        return result

    def _invoke(self, ctx: SyscallContext, entry, call):
        result = self.run_handler(entry.name, lambda: entry.handler(ctx, *call.args[: entry.nargs]))
        if entry.pointers is None and (result is NATIVE or isinstance(result, AtExit)):
            # only a row that declares its pointers may let the kernel run the call
            # (syscalls/table.py: no check-then-continue): a sentry bug, fail closed
            bugs.report(entry.name, "it answered NATIVE but its row declares no pointers\n")
            return -errno.EIO
        return result

    def run_handler(self, name: str, handler):
        """handler()'s answer to the syscall `name`, with what it raised made
        the answer: a trapped call's, or a parked call's when it is resumed."""
        try:
            return handler()
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
            bugs.report(name)
            return -errno.EIO

    def _open_files(self):
        """Every open file description in the sandbox's fd tables (some more than once)."""
        tables = {id(p.fds): p.fds for p in list(self.tasks.processes.values())}
        for table in tables.values():
            for entry in list(table.entries.values()):
                yield entry.file

    def descriptions_released(self, released: list[OpenFile], by: Process | None = None) -> None:
        """Guest fds of these open descriptions went away (close, dup2 over
        one, exec, exit), in this order, closed by the process `by`: its
        POSIX locks on their files go (locks.py); those no fd in the sandbox
        holds any more are closed: their flock and OFD locks go, and they
        raise IN_CLOSE_WRITE/IN_CLOSE_NOWRITE as Linux's last fput does (a
        mapping still holding one is not seen: munmap is native)."""
        released = [f for f in released if f.mount is not None or f.lock_key]
        if not released:
            return
        locked = [f for f in released if f.lock_key]
        watched = self.vfs.inotify.instances
        if not locked and not watched:
            return
        held = {id(f) for f in self._open_files()}
        for file in locked:
            self.locks.closed(file.lock_key, by.fds if by is not None else None,
                              id(file) not in held, file)
        if not watched:
            return
        for file in released:
            if file.mount is not None and id(file) not in held:
                held.add(id(file))  # once
                files.closed(self.vfs, file)

    def release_writebacks(self) -> None:
        """Some guest fds went away (close, exec, exit): forget the written-back
        files none is left of."""
        if self.writebacks.open:
            tables = {id(p.fds): p.fds for p in list(self.tasks.processes.values())}
            self.writebacks.release(e.file.node for t in tables.values()
                                    for e in list(t.entries.values()))

    def answers(self, nr: int, args) -> bool:
        """Whether the sentry, not the host, answers syscall `nr` with these
        arguments (all but native and denied calls, and the calls an argument
        rule lets run natively: a recv's recvfrom without an address)."""
        entry = self.table.rows.get(nr)
        if entry is not None and entry.policy is not Policy.TRAP:
            return False
        return not argument_rule_allows(nr, args)

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

    def admit_clone(self, task: Task, pidfd_addr: int) -> None:
        """A task is about to clone: refuse it (EAGAIN) past the sandbox's pids limit.

        Clones already let through but not yet reported count too, so
        racing forks cannot overshoot the limit. One whose host clone
        failed stays counted until its task clones again or exits.
        """
        limit = self.limits.pids
        self._clones_in_flight.pop(task.host_tid, None)
        if limit is not None and len(self.tasks) + len(self._clones_in_flight) >= limit:
            raise SyscallError(errno.EAGAIN)
        if self._over_nproc(task, task.process.creds.uid, 0):
            raise SyscallError(errno.EAGAIN)
        self._clones_in_flight[task.host_tid] = pidfd_addr

    def host_numbers_follow_table(self, task: Task) -> bool:
        """Whether the host's next free fd number for `task` is the table's:
        nothing else can change its host fd table while its call runs (no
        other thread, no process sharing it, no clone of its in flight), every
        close it made has finished (it made this call), and every entry holds
        a host fd (an O_PATH entry's host slot is empty). Then a dup can run
        natively: the kernel picks the number the table would."""
        proc = task.process
        return (len(proc.threads) == 1 and not proc.fds.shared and not proc.fds.unbacked
                and not proc.fds.quarantine and task.host_tid not in self._clones_in_flight)

    def _over_nproc(self, task: Task, uid: int, slack: int, caps_exempt: bool = True) -> bool:
        return limits.over_nproc(self.tasks, self._clones_in_flight, task, uid, slack, caps_exempt)

    def real_uid_changed(self, task: Task) -> None:
        """set_user(): a process that became a user already past its RLIMIT_NPROC
        is marked, and its next exec fails with EAGAIN if that is still so."""
        proc = task.process
        others = len(proc.threads)
        proc.nproc_exceeded = self._over_nproc(task, proc.creds.uid, others + 1, caps_exempt=False)

    def check_nproc_at_exec(self, task: Task) -> None:
        if task.process.nproc_exceeded:
            if self._over_nproc(task, task.process.creds.uid, 1, caps_exempt=False):
                raise SyscallError(errno.EAGAIN)
            task.process.nproc_exceeded = False

    def host_tid_of(self, vpid: int, thread: bool = False) -> int:
        """The host tid of a sandbox process (or, with `thread`, of any sandbox thread)."""
        if thread:
            for task in self.tasks.by_host_tid.values():
                if task.vtid == vpid:
                    return task.host_tid
        elif vpid in self.tasks.processes:
            host = self.tasks.host_pid_of(vpid)
            if host is not None:
                return host
        raise SyscallError(errno.ESRCH)

    # -- names: the calling process's UTS namespace while a call is answered --

    def uts_now(self) -> Uts:
        """The UTS namespace of the task whose call is being answered, or the
        sandbox's (at boot, for its configuration)."""
        proc = self.current.process if self.current is not None else None
        return proc.uts if proc is not None and proc.uts is not None else self.uts

    hostname = property(lambda self: self.uts_now().hostname,
                        lambda self, value: setattr(self.uts_now(), "hostname", value))
    domainname = property(lambda self: self.uts_now().domainname,
                          lambda self, value: setattr(self.uts_now(), "domainname", value))

    def on_clone(self, parent_tid: int, child_tid: int, flags: int) -> None:
        creator = self.tasks.by_host_tid[parent_tid]
        parent = creator.process
        pidfd_addr = self._clones_in_flight.pop(parent_tid, 0)
        vtid = self._vpid_of(child_tid)
        if flags & CLONE_THREAD:
            proc = parent
        else:
            proc = Process(
                vtid,
                parent.parent if flags & CLONE_PARENT and parent.parent else parent,
                parent.fds.share() if flags & CLONE_FILES else parent.fds.fork(),
                parent.fs if flags & CLONE_FS else parent.fs.copy(),
                creator.creds.copy(), parent.exe, parent.comm)
            proc.pgid, proc.sid = parent.pgid, parent.sid
            proc.rlimits = dict(parent.rlimits)   # the caller's, even with CLONE_PARENT
            proc.uts, proc.mntns = parent.uts, parent.mntns   # (and its namespaces)
            proc.reads_traced = set(parent.reads_traced)   # filters outlive fork
            self.tasks.exited_uids.pop(vtid, None)   # the pid is reused
            self.tasks.zombies.evict(vtid)            # so its zombie was reaped
            proc.pidfd = _pidfd_or_none(child_tid)
        task = Task(child_tid, vtid, proc)
        task.own_cpus = creator.own_cpus   # a clone runs on its creator's CPUs
        if flags & CLONE_THREAD:   # a new thread starts with its creator's name and credentials
            task.own_comm = creator.comm
            if creator.own_creds is not None:
                task.own_creds = creator.own_creds.copy()
        self._add_task(task)
        self.tasks.zombies.collect()   # forget those reaped since: the table stays small
        if pidfd_addr:  # the child's fd table was copied before the host made the pidfd
            self._record_clone_pidfd(parent_tid, parent, pidfd_addr)

    def _record_clone_pidfd(self, parent_tid: int, parent: Process, addr: int) -> None:
        """CLONE_PIDFD: the host put a pidfd in the parent; enter it in its fd table."""
        try:
            (fd,) = struct.unpack("<i", self.platform.read(parent_tid, addr, 4))
        except MemoryFault:  # the host could not have written it either
            return
        if 0 <= fd < parent.fds.limit:
            parent.fds.install(fd, OpenFile("pidfd", path="anon_inode:[pidfd]"), cloexec=True)

    def on_exec(self, host_tid: int, former_tid: int) -> None:
        task = self.tasks.by_host_tid.get(former_tid)
        if task is None:
            return
        self.vfs.inotify.drain()  # its native I/O, told while its fds are still known
        proc = task.process
        if former_tid != host_tid:  # a non-leader exec'd: it becomes the leader
            for other in list(proc.threads.values()):
                if other is not task:
                    self.tasks.remove(other.host_tid)
                    self.platform.retract_ids(other.host_tid)
            self.platform.retract_ids(former_tid)
            self.tasks.rekey(task, host_tid, proc.vpid)
        closing = [e.file for _fd, e in sorted(proc.fds.entries.items()) if e.cloexec]
        proc.fds.on_exec()
        self.descriptions_released(closing, proc)
        self.release_writebacks()
        self.vfs.inotify.reap()   # its close-on-exec fds are closed
        proc.creds_of_one_thread(task)   # the exec'ing thread's are the process's now
        pending, task.exec_pending = task.exec_pending, None
        if pending is not None:
            if not self._execd_what_was_vetted(host_tid, pending):
                return
            proc.exe, proc.comm = pending.exe, pending.comm
            task.own_comm = None   # the one thread left is the leader
            try:
                secure = proc.creds.on_exec(pending.setuid_to, pending.setgid_to, pending.file_caps)
            except SyscallError:   # the credentials changed since the exec's stop made sure
                secure = proc.creds.on_exec(pending.setuid_to, pending.setgid_to)
        else:
            secure = proc.creds.on_exec()
        if secure:
            self._mark_secure_exec(host_tid)
        self._publish(task)

    def _execd_what_was_vetted(self, host_tid: int, pending) -> bool:
        """The rewritten execveat(fd, "", AT_EMPTY_PATH) names its path by a
        NUL byte in the caller's memory, which another thread may overwrite
        before the kernel reads it: then the host exec'd a file by a path the
        sentry never resolved. Checked here, at the exec event stop, before
        the new image runs an instruction: any other file kills the task."""
        try:
            st = os.stat(f"/proc/{host_tid}/exe")
        except OSError:
            return True   # the task is gone; its exit event follows
        if (st.st_dev, st.st_ino) == pending.inode:
            return True
        sys.stderr.write(f"runsc-py: task {host_tid} exec'd a file the sentry did not open; "
                         "killed\n")
        with contextlib.suppress(ProcessLookupError):
            os.kill(host_tid, signal.SIGKILL)
        return False

    def _mark_secure_exec(self, host_tid: int) -> None:
        """Set AT_SECURE in the new image's auxiliary vector, as Linux does for a
        set-id exec: the host saw no set-id exec (its threads never change
        identity), so its loader would otherwise honour LD_PRELOAD & co.
        Called at the exec event stop, before the image's first instruction."""
        try:
            sp = self.platform.stack_pointer(host_tid)
            (argc,) = struct.unpack("<Q", self.platform.read(host_tid, sp, 8))
            addr = sp + 8 * (argc + 2)                   # past argc, argv and its NULL
            while self.platform.read(host_tid, addr, 8) != bytes(8):
                addr += 8                                # envp up to its NULL
            addr += 8
            for _ in range(64):
                kind, _value = struct.unpack("<QQ", self.platform.read(host_tid, addr, 16))
                if kind == AT_NULL:
                    return
                if kind == AT_SECURE:
                    self.platform.write(host_tid, addr + 8, struct.pack("<Q", 1))
                    return
                addr += 16
        except (MemoryFault, OSError):
            # a task that cannot be read at its exec stop was killed there
            with contextlib.suppress(ProcessLookupError):
                os.kill(host_tid, signal.SIGKILL)

    def on_job_control_stop(self, host_tid: int, stopped: bool) -> None:
        """The platform saw a task enter (or leave) a group-stop; /proc shows it "T"."""
        if stopped:
            self.job_control_stopped.add(host_tid)
        else:
            self.job_control_stopped.discard(host_tid)

    def on_exit(self, host_tid: int, status: int) -> None:
        self.vfs.inotify.drain()  # its native I/O, told while its fds are still known
        self.job_control_stopped.discard(host_tid)
        task = self.tasks.remove(host_tid)
        self.platform.retract_ids(host_tid)
        self._clones_in_flight.pop(host_tid, None)
        self.interrupts.task_gone(host_tid)
        self.locks.task_gone(host_tid)   # a wait it died in
        if task is not None:  # a close it made natively has finished: free the numbers
            task.process.fds.settle(host_tid)
        if task is not None and not task.process.threads:
            proc = task.process
            proc.exit_status = status
            self.tasks.remember_exited(proc)
            shared = any(p.fds is proc.fds for p in self.tasks.processes.values()
                         if p is not proc and p.exit_status is None)   # CLONE_FILES
            self.descriptions_released([e.file for _fd, e in sorted(proc.fds.entries.items())],
                                       None if shared else proc)
            if not shared:
                self.locks.owner_gone(proc.fds)
            self.release_writebacks()
            self.vfs.inotify.reap()   # its fds are closed
            if self._sent_for:   # signals it never took
                for key in [k for k in self._sent_for if k[0] == proc.vpid]:
                    del self._sent_for[key]
            self._reparent_children(proc)
            # a zombie until its parent reaps it (init's parent is the sentry)
            self.tasks.zombies.collect()
            if (proc is self.tasks.init or not self.tasks.zombies.hold(proc, task)) \
                    and proc.pidfd is not None:
                os.close(proc.pidfd)
                proc.pidfd = None
            if proc is self.tasks.init:
                self.exit_status = self._init_fate or status
                self._kill_all()  # as when a pid namespace's init dies
            if self.on_process_exit is not None:
                self.on_process_exit(proc, status)
        if self.exit_status is not None and len(self.tasks) == 0:
            self.finished = 1

    def _reparent_children(self, dead: Process) -> None:
        """Orphans go to the nearest live subreaper ancestor, else init (as the host does)."""
        heir = dead.parent
        while heir is not None and not (heir.subreaper and heir.exit_status is None):
            heir = heir.parent
        heir = heir or self.tasks.init
        for proc in [*self.tasks.processes.values(), *self.tasks.zombies.by_vpid.values()]:
            if proc.parent is dead:
                proc.parent = heir
                self.republish(proc)  # getppid, for the fast path

    # -- signals sent for a sandbox process ----------------------------------

    def sent_on_behalf(self, target: Process, sig: int, sender: Process) -> None:
        """The sentry signals `target` for `sender` (a group kill the caller may
        only partly make): the delivery stop makes the siginfo the sender's."""
        self._sent_for[(target.vpid, sig)] = (sender.vpid, sender.creds.uid)

    # -- signals the sentry decides (sentry/signals.py) --------------------

    def init_host(self) -> int | None:
        """The host pid of the sandbox's init, while it lives."""
        init = self.tasks.init
        return self.tasks.host_pid_of(init.vpid) if init else None

    def apply_default_to_init(self, sig: int) -> bool:
        """A signal sent to init from inside the sandbox, that init has no
        handler for. With `init_protected` (OCI, as runc's containers), Linux's
        rule for a pid namespace's init: dropped, SIGKILL too. Without it
        (`do`: init is the command the caller ran, as with subprocess), what
        Linux does for any process: die, or stop. Returns True when the sentry
        dealt with it, False when init handles or ignores sig (it goes on)."""
        host = self.init_host()
        if host is None:
            return False
        read = self.platform.read
        if self.init_protected:
            return signals.default_is_fatal(host, sig, read) or signals.default_is_stop(host, sig, read)
        if signals.default_is_fatal(host, sig, read):
            self._init_fate = sig
            os.kill(host, signal.SIGKILL)
            return True
        if signals.default_is_stop(host, sig, read):
            os.kill(host, signal.SIGSTOP)  # from outside the namespace: always delivered
            return True
        return False

    def signal_init(self, sig: int) -> None:
        """A signal from outside the sandbox (the CLI forwarding its own, an
        OCI kill) to init. Protected, the host's own rule for a signal from an
        ancestor namespace is Linux's: SIGKILL and SIGSTOP always, any other
        only if init handles it. Otherwise Linux's default action if init has
        no handler, which the host would not take for a namespace's init."""
        host = self.init_host()
        if host is None or sig == 0:
            return
        if self.init_protected or not self.apply_default_to_init(sig):
            with contextlib.suppress(ProcessLookupError):
                os.kill(host, sig)

    def signal_delivery(self, host_tid: int, sig: int) -> int:
        """A signal is about to be delivered (ptrace signal-delivery-stop):
        returns the signal to deliver, or 0 when the sentry acted instead."""
        task = self.tasks.by_host_tid.get(host_tid)
        if task is None:
            return sig
        if task.process is self.tasks.init and not self.init_protected \
                and self.apply_default_to_init(sig):
            return 0   # (protected, what reaches delivery is what the host let through)
        self.amend_siginfo_at_delivery(host_tid)
        return sig

    def amend_siginfo_at_delivery(self, host_tid: int) -> None:
        """Give the siginfo a handler is about to see the sandbox's ids."""
        try:
            fixed = self.sandbox_siginfo(host_tid, self.platform.siginfo(host_tid))
            if fixed is not None:
                self.platform.set_siginfo(host_tid, fixed)
        except OSError:  # killed at the stop: its exit event follows
            pass

    def amend_siginfo_in_memory(self, host_tid: int, addr: int) -> None:
        """The same, for a siginfo_t a call (waitid, rt_sigtimedwait) wrote at `addr`."""
        try:
            info = self.platform.read(host_tid, addr, 24)
            fixed = self.sandbox_siginfo(host_tid, info)
            if fixed is not None:
                self.platform.write(host_tid, addr + 16, fixed[16:24])
        except (MemoryFault, OSError):  # unmapped since, or the task was killed
            pass

    def handle_signalfd_read(self, call):
        """A read a signalfd's filter traced (sentry/signalfd_reads.py)."""
        task = self.tasks.by_host_tid.get(call.tid)
        if task is None:
            return NATIVE
        return signalfd_reads.traced_read(self, task, call)

    def sandbox_siginfo(self, host_tid: int, info: bytes) -> bytes | None:
        """`info` (at least its first 24 bytes) with the sandbox's si_pid and
        si_uid where the host wrote its own, or None if it is right as it is."""
        if self._sent_for and signals.sent_from_outside(info):  # the sentry's, for a sender?
            task = self.tasks.by_host_tid.get(host_tid)
            if task is not None:
                sender = self._sent_for.pop((task.process.vpid, signals.signo_of(info)), None)
                if sender is not None:
                    return signals.as_sent_by(info, *sender)
        return signals.with_sandbox_uid(info, self.uid_of)

    def uid_of(self, vpid: int) -> int | None:
        """The real uid of a sandbox process, live or lately exited (for SIGCHLD, waitid)."""
        proc = self.tasks.processes.get(vpid)
        if proc is not None:
            return proc.creds.uid
        return self.tasks.exited_uids.get(vpid)

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


def _pidfd_or_none(host_tid: int) -> int | None:
    """A pidfd to borrow the process's fds through; None if the sentry is out of fds
    (that process's fd calls then fail with EBADF rather than the sentry failing)."""
    try:
        return os.pidfd_open(host_tid)
    except OSError:
        return None


def _raise_own_nofile_limit() -> None:
    """The sentry holds a pidfd per sandbox process: give it its hard limit of fds.

    Done after the workload started, which keeps the caller's soft limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _nofile_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
