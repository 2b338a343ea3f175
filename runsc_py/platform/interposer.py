"""What both platforms share: the loop's Python callbacks, the ptrace lifecycle, exec.

Both platforms load one filter with a seccomp listener and keep the
workload ptrace-seized (`PTRACE_O_TRACESECCOMP|TRACECLONE|TRACEFORK|
TRACEVFORK|TRACEEXEC|EXITKILL`), because two things need each mechanism:

- installing a host fd at a guest number is `SECCOMP_IOCTL_NOTIF_ADDFD`,
  which needs a pending notification;
- exec through an fd needs the caller's registers rewritten at a ptrace stop.

They differ only in the action the filter returns for trapped calls (the
seccomp platform notifies, the ptrace platform traces) and in how installs
reach a call caught at a ptrace stop (see ptrace.py).

Exec, on both: the filter traces execve/execveat (RET_TRACE). At that stop
the sentry resolves the path and hands back `ExecVia(fd, ...)`; the call is
redirected to RP_NR_INSTALL (which notifies, so ADDFD can put the fd in the
caller), resumed with PTRACE_SYSCALL, and at its syscall-exit stop rewound
(rip -= 2) into `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`. That second
call traces again and is let through because it is the one we armed.
"""
from __future__ import annotations

import abc
import errno
import os
import select
import signal
import socket
import struct
import time

from runsc_py._interpose import ffi, lib
from runsc_py.platform import (
    HELD,
    AtExit,
    NATIVE,
    ExecVia,
    FdInstall,
    InstallFds,
    MemoryFault,
    TrappedCall,
    workload_host_id,
)
from runsc_py.platform.policy import (
    NR_READ,
    NR_READV,
    SECCOMP_FILTER_FLAG_NEW_LISTENER,
    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
    build_filter,
)

PTRACE_CONT = 7
PTRACE_SYSCALL = 24
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO, PTRACE_SETSIGINFO = 0x4202, 0x4203
SIGINFO_SIZE = 128
PTRACE_SEIZE = 0x4206
PTRACE_LISTEN = 0x4208
PTRACE_INTERRUPT = 0x4207
PTRACE_O_TRACESYSGOOD = 0x01
PTRACE_O_TRACEFORK = 0x02
PTRACE_O_TRACEVFORK = 0x04
PTRACE_O_TRACECLONE = 0x08
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000
PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE = 1, 2, 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_STOP = 128
PTRACE_OPTIONS = (
    PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE
    | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL
)
SECCOMP_ADDFD_FLAG_SETFD = 1
SECCOMP_ADDFD_FLAG_SEND = 2
NR_CLONE, NR_FORK, NR_VFORK, NR_EXECVEAT, NR_CLONE3 = 56, 57, 58, 322, 435
# Calls the sentry lets run natively that may wait interruptibly and end in
# -ERESTARTSYS by the host's own doing (a native flock or F_SETLKW on a
# sandbox-private file): remembered, so a signal ending them is not taken
# for one that withdrew a trapped call (_restart_withdrawn_call).
NATIVE_WAITS = {72, 73}   # fcntl, flock
AT_EMPTY_PATH = 0x1000
CLONE_VM, CLONE_VFORK = 0x100, 0x4000
CLONE_NEWPID = 0x20000000
CLONE_NAMESPACES = 0x00020000 | 0x04000000 | 0x08000000 | 0x20000000 | 0x40000000  # NS UTS IPC PID NET
ERRNO_MAX = 4095
ERESTARTSYS, ERESTARTNOINTR = 512, 513
NR_INSTALL = lib.RP_NR_INSTALL
VIA_PTRACE = lib.RP_VIA_PTRACE
TRACE_EXEC = lib.RP_TRACE_EXEC
TRACE_SIGNALFD_READ = lib.RP_TRACE_SIGNALFD_READ
TRACED_READS = (NR_READ, NR_READV)
REPLY_VALUE, REPLY_ERRNO = lib.RP_REPLY_VALUE, lib.RP_REPLY_ERRNO
REPLY_CONTINUE, REPLY_HELD = lib.RP_REPLY_CONTINUE, lib.RP_REPLY_HELD
JOB_CONTROL_STOPS = (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)

_active: "Interposer | None" = None


class _PendingInstall:
    """Installs waiting for a ptrace-stopped call to reach RP_NR_INSTALL."""

    __slots__ = ("result", "then_exec")

    def __init__(self, result: InstallFds, then_exec: ExecVia | None = None):
        self.result = result
        self.then_exec = then_exec


class Interposer(abc.ABC):
    """Starts the workload under the filter and runs the sentry's event loop."""

    name = "abstract"
    trap_action = lib.RP_ACT_NOTIFY
    # Whether the loop sleeps in the listener's RECV, with a watcher thread
    # for the other fds, rather than in poll(): worth it only where most
    # events are notifications (csrc/waiting.c).
    direct_receive = False

    def __init__(self, pin_cpu: int | None = None):
        self.pin_cpu = pin_cpu
        self.notify_fd = -1
        self.sigchld_fd = -1
        self.sentry = None
        self._pending: dict[int, _PendingInstall] = {}
        self._exec_armed: set[int] = set()
        self._early_stops: set[int] = set()
        self._awaiting_start: set[int] = set()
        self._event_handlers: dict[int, object] = {}
        self._pending_exec: dict[int, ExecVia] = {}
        self._at_exit: dict[int, object] = {}   # tid -> AtExit.amend, until its exit stop
        # tids whose parked call the sentry interrupted on purpose (interrupt()):
        # their -ERESTARTSYS must reach the signal code as it is
        self._interrupted: set[int] = set()
        # tid -> (nr, args) of the trapped call it was last let run natively:
        # an -ERESTARTSYS from that call is the host's answer, not a withdrawal
        self._continued: dict[int, tuple] = {}
        # InstallFds.then: calls to make once the install's stop comes, and
        # those under way (tid -> (registers to restore, the call, entered))
        self._follow_up: dict[int, tuple[int, ...]] = {}
        self._injected: dict[int, list] = {}
        self._failure: BaseException | None = None
        # An OCI seccomp profile's filter (bytes of sock_filter), loaded in each
        # workload process before the sentry's own: its ERRNO/KILL win over
        # the sentry's traps, so a denied call never reaches the sentry.
        self.profile_bpf: bytes | None = None
        self.spawner = None   # an OCI sandbox's (platform/spawner.py): init, then exec's

    # -- start-up ------------------------------------------------------

    def start(self, sentry, path: bytes, argv: list[bytes], envp: list[bytes],
              policies: dict, namespaces: bool = True, root: bytes | None = None,
              stdio: tuple[int, int, int] | None = None, ctty: bool = False,
              rlimits=(), always_trap=frozenset()) -> int:
        """Clone the workload's first process, seize it, take its listener.

        Returns its host pid. The child execs `path` next; that exec is
        trapped like any other and rewritten by the sentry. With `root`
        (a container's rootfs) the child's host root becomes a read-only
        bind of it (it needs `namespaces`, for its own mount namespace).
        Without `root`, the host's own root is its root, sealed read-only
        in its mount namespace. `stdio` replaces the child's fds 0-2; `ctty`
        makes fd 0 the controlling terminal of its session (a container's pty);
        `rlimits` are (resource, soft, hard) it sets while it still may;
        `always_trap` calls trap whatever their arguments (policy.build_filter).
        """
        global _active
        _active = self
        self.sentry = sentry
        self._bpf = build_filter(policies, self.trap_action, always_trap=always_trap)
        self._setup_loop()
        if root is None and namespaces:
            root = b"/"
        if self.spawner is not None:   # an OCI sandbox's: init comes from it (platform/spawner.py)
            self._configure_spawner(init=True)
        pid, self.notify_fd = self._spawn(path, argv, envp, CLONE_NAMESPACES if namespaces else 0,
                                          root=root, stdio=stdio, ctty=ctty, rlimits=rlimits)
        lib.rp_notify_set_sync_wakeup(self.notify_fd)  # best effort: Linux >= 6.6
        return pid

    def spawn_joined(self, path: bytes, argv: list[bytes], envp: list[bytes], init_pid: int,
                     stdio: tuple[int, int, int], ctty: bool = False) -> int:
        """Start another process in the running sandbox (an OCI exec).

        It joins init's namespaces (pid through this process's
        pid_for_children, the rest by setns in the child) and is seized
        and filtered like init. Its filter has a listener of its own,
        served from the loop (`_serve_listener`). Returns its host pid.
        """
        pidfd = _check(lib.rp_pidfd_open(init_pid), "pidfd_open(init)")
        own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(lib.rp_setns(pidfd, CLONE_NEWPID), "setns(pid)")
            try:
                pid, listener = self._spawn(path, argv, envp, 0, join_pidfd=pidfd, stdio=stdio,
                                            ctty=ctty)
            finally:
                _check(lib.rp_setns(own_pidns, CLONE_NEWPID), "setns(back)")
        finally:
            os.close(pidfd)
            os.close(own_pidns)
        lib.rp_notify_set_sync_wakeup(listener)
        self.watch(listener, lambda events: self._serve_listener(listener, events), listener=True)
        return pid

    def _serve_listener(self, listener: int, events: int) -> int:
        """One notification from an exec'd process's listener. Answers are sent
        through `notify_fd`, so it names this listener while the call is served."""
        if events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
            self.unwatch(listener)   # every process of that filter is gone
            os.close(listener)
            return self.sentry.finished
        own, self.notify_fd = self.notify_fd, listener
        try:
            return lib.rp_serve_notification(listener)
        finally:
            self.notify_fd = own

    def start_spawner(self, spawner=None) -> None:
        """Have the process that starts later workload processes (OCI exec)
        ready before this one loads its own filter (platform/spawner.py):
        the spawner that started init, once it has left the host's tree, or
        a new one."""
        from runsc_py.platform.spawner import Spawner

        if self.spawner is not None and self.spawner.configured:
            self.spawner.wait_sealed()
            return
        self.spawner = spawner or Spawner.fork()
        self._configure_spawner(init=False)
        self.spawner.wait_sealed()

    def _configure_spawner(self, init: bool) -> None:
        self.spawner.configure({
            "bpf": self._bpf, "profile_bpf": self.profile_bpf,
            "filter_flags": SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
            "cpu": -1 if self.pin_cpu is None else self.pin_cpu,
            "host_id": workload_host_id()},   # computed here: the spawner's own pid differs
            init=init)

    def _spawn(self, path: bytes, argv: list[bytes], envp: list[bytes], clone_flags: int, *,
               root: bytes | None = None, join_pidfd: int = -1,
               stdio: tuple[int, int, int] | None = None, ctty: bool = False,
               rlimits=()) -> tuple[int, int]:
        """Clone a workload process, seize it, take its listener: (pid, listener fd)."""
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.spawner is not None:   # init (new namespaces), or a process joining init's
            try:
                if join_pidfd >= 0:
                    pid = self.spawner.spawn(path, argv, envp, stdio, child_sock.fileno(),
                                             join_pidfd, ctty)
                else:
                    pid = self.spawner.spawn_init(path, argv, envp, stdio, child_sock.fileno(),
                                                  ctty, clone_flags, root, rlimits)
            except BaseException:
                parent_sock.close()
                raise
            finally:
                child_sock.close()
        else:
            pid = self._clone(path, argv, envp, clone_flags, root, join_pidfd, stdio, ctty,
                              child_sock, rlimits)
        return self._seize(pid, parent_sock)

    def _clone(self, path, argv, envp, clone_flags, root, join_pidfd, stdio, ctty,
               child_sock, rlimits) -> int:
        bpf = self._bpf
        keep = [ffi.new("char[]", a) for a in argv + envp + [path]]
        c_root = ffi.new("char[]", root) if root is not None else ffi.NULL
        c_stdio = ffi.new("int32_t[3]", list(stdio)) if stdio is not None else ffi.NULL
        c_argv = ffi.new("char *[]", keep[: len(argv)] + [ffi.NULL])
        c_envp = ffi.new("char *[]", keep[len(argv): len(argv) + len(envp)] + [ffi.NULL])
        c_bpf = ffi.from_buffer(bpf)
        c_profile = ffi.from_buffer(self.profile_bpf) if self.profile_bpf else ffi.NULL
        c_rlimits = ffi.new("uint64_t[]", [v for triple in rlimits for v in triple] or [0])
        spawn = ffi.new("struct rp_spawn *", {
            "path": keep[-1], "argv": c_argv, "envp": c_envp, "bpf": c_bpf,
            "bpf_len": len(bpf) // 8,
            "filter_flags": SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
            "clone_flags": clone_flags,
            "sync_fd": child_sock.fileno(),
            "cpu": -1 if self.pin_cpu is None else self.pin_cpu,
            "root": c_root,
            "join_pidfd": join_pidfd,
            "stdio": c_stdio,
            "ctty": 1 if ctty else 0,
            "host_uid": workload_host_id(),
            "host_gid": workload_host_id(),
            "rlimits": c_rlimits,
            "n_rlimits": len(rlimits),
            "profile_bpf": c_profile,
            "profile_bpf_len": len(self.profile_bpf) // 8 if self.profile_bpf else 0,
        })
        pid = lib.rp_spawn_workload(spawn)
        child_sock.close()
        return pid   # -errno: _seize says why

    def _seize(self, pid: int, parent_sock: socket.socket) -> tuple[int, int]:
        if pid < 0:
            parent_sock.close()
            raise OSError(-pid, f"cannot start the workload: {os.strerror(-pid)}")
        try:
            self._ptrace(PTRACE_SEIZE, pid, 0, PTRACE_OPTIONS)
            parent_sock.sendall(b"g")
            reply = _recv_exact(parent_sock, 4)
            listener = struct.unpack("<i", reply)[0]
            if listener < 0:
                raise OSError(-listener, f"the workload could not enter its namespaces or root, "
                                         f"or become its host user: {os.strerror(-listener)}")
            notify_fd = _take_listener(pid, listener, parent_sock)
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        finally:
            parent_sock.close()
        return pid, notify_fd

    def _setup_loop(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        self.sigchld_fd = _check(lib.rp_signalfd_sigchld(), "signalfd")

    def watch(self, fd: int, handler, listener: bool = False) -> None:
        """Call handler(events) from the loop whenever `fd` is readable.
        A seccomp `listener` keeps the loop in poll() while it is watched."""
        self._event_handlers[fd] = handler
        _check(lib.rp_loop_watch(fd, listener), "watch")

    def unwatch(self, fd: int) -> None:
        self._event_handlers.pop(fd, None)
        lib.rp_loop_unwatch(fd)

    # -- the loop ------------------------------------------------------

    def run(self) -> None:
        """Serve the workload until the sentry says it is over."""
        rc = lib.rp_loop_run(self.notify_fd, self.sigchld_fd, self.direct_receive)
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        if rc < 0:
            raise OSError(-rc, "the sentry's event loop failed")

    def on_trap(self, trap, reply) -> int:
        """The hot path: every call the C fast path did not answer comes here."""
        if lib.rp_opened_count():
            self._adopt_opened()
        via_ptrace = trap.via == VIA_PTRACE
        if self._interrupted:
            self._interrupted.discard(trap.tid)   # a new call: any interruption is over
        call = TrappedCall(trap.tid, trap.nr, ffi.unpack(trap.args, 6), trap.ip, trap.id,
                           via_ptrace, via_ptrace and trap.data == TRACE_EXEC, self.notify_fd)
        if call.nr == NR_INSTALL and not via_ptrace and call.tid in self._pending:
            self._deliver_pending(call)
            reply.kind = REPLY_HELD
            return 0
        if call.exec_trace and call.tid in self._exec_armed:
            self._exec_armed.discard(call.tid)
            reply.kind = REPLY_CONTINUE
            return 0
        if call.tid in self._injected and self._is_injected(call.tid, call.nr, call.args, call.ip):
            if via_ptrace:   # run it, and stop at its exit to restore the registers
                reply.kind = REPLY_HELD
                self._ptrace(PTRACE_SYSCALL, call.tid, 0, 0)
            else:
                reply.kind = REPLY_CONTINUE
            return 0
        if via_ptrace and trap.data == TRACE_SIGNALFD_READ and call.nr in TRACED_READS:
            result = self.sentry.handle_signalfd_read(call)   # any other call a workload's
            # own filter traced with this value is the table's, as always
        else:
            result = self.sentry.handle_syscall(call)
        if result is NATIVE and call.nr in NATIVE_WAITS:
            self._continued[call.tid] = (call.nr, call.args)
        elif self._continued:
            self._continued.pop(call.tid, None)
        if type(result) is int and result >= 0:
            reply.kind = REPLY_VALUE
            reply.value = result
        else:
            self._apply(call, result, reply)
        return self.sentry.finished

    def _apply(self, call: TrappedCall, result, reply) -> None:
        if isinstance(result, int):
            if -ERRNO_MAX <= result < 0:
                reply.kind, reply.value = REPLY_ERRNO, -result
            else:
                reply.kind, reply.value = REPLY_VALUE, result
        elif result is NATIVE:
            reply.kind = REPLY_CONTINUE
        elif result is HELD:
            reply.kind = REPLY_HELD
        elif isinstance(result, InstallFds):
            reply.kind = REPLY_HELD
            self.install(call, result)
        elif isinstance(result, ExecVia):
            reply.kind = REPLY_HELD
            self._exec_via(call, result)
        elif isinstance(result, AtExit):
            if call.via_ptrace:  # a traced call: its exit stop comes next
                reply.kind = REPLY_HELD
                self._at_exit[call.tid] = result.amend
                self._ptrace(PTRACE_SYSCALL, call.tid, 0, 0)
            else:
                reply.kind = REPLY_CONTINUE
        else:
            raise TypeError(f"a syscall handler returned {result!r}")

    def complete(self, call: TrappedCall, result) -> None:
        """Answer a call the sentry parked (HELD) earlier, through the listener it came by."""
        own, self.notify_fd = self.notify_fd, call.listener
        try:
            self._complete(call, result)
        finally:
            self.notify_fd = own

    def _complete(self, call: TrappedCall, result) -> None:
        reply = ffi.new("struct rp_reply *")
        self._apply(call, result, reply)
        if reply.kind == REPLY_HELD:
            return
        if call.via_ptrace:
            lib.rp_reply_ptrace(call.tid, reply.kind, reply.value)
        elif reply.kind == REPLY_CONTINUE:
            lib.rp_notify_send(self.notify_fd, call.notif_id, 0, 0, 1)
        elif reply.kind == REPLY_ERRNO:
            lib.rp_notify_send(self.notify_fd, call.notif_id, 0, -reply.value, 0)
        else:
            lib.rp_notify_send(self.notify_fd, call.notif_id, reply.value, 0, 0)

    def interrupt(self, call: TrappedCall) -> None:
        """Answer a parked call as a signal ends an interruptible sleep on Linux:
        -ERESTARTSYS, which the host's signal code turns into EINTR, or into the
        call made again after a handler with SA_RESTART or a stop (the sentry
        saw a signal pending for the caller: sentry/interrupts.py)."""
        self._interrupted.add(call.tid)
        if not call.via_ptrace:
            lib.rp_notify_send(call.listener, call.notif_id, 0, -ERESTARTSYS, 0)
            return
        # At a seccomp stop, a call the tracer skips has orig_rax -1, and the
        # signal code restarts nothing for "no syscall": skip it, and at its
        # exit stop make it the call again, returning -ERESTARTSYS.
        regs = ffi.new("struct rp_regs *")
        if lib.rp_get_regs(call.tid, regs) < 0:
            return   # killed at the stop
        nr = regs.orig_rax
        regs.orig_rax = 0xFFFFFFFFFFFFFFFF
        if lib.rp_set_regs(call.tid, regs) < 0:
            return
        self._at_exit[call.tid] = lambda _result: self._set_restart(call.tid, nr)
        self._ptrace(PTRACE_SYSCALL, call.tid, 0, 0, ignore_esrch=True)

    @staticmethod
    def _set_restart(tid: int, nr: int) -> None:
        regs = ffi.new("struct rp_regs *")
        if lib.rp_get_regs(tid, regs) >= 0:
            regs.orig_rax = nr
            regs.rax = -ERESTARTSYS & 0xFFFFFFFFFFFFFFFF
            lib.rp_set_regs(tid, regs)

    # -- fd installs ---------------------------------------------------

    @abc.abstractmethod
    def install(self, call: TrappedCall, result: InstallFds) -> None:
        """Put result.fds in the caller and answer it with result.value."""

    def _addfds_and_reply(self, notif_id: int, result: InstallFds) -> bool:
        """Install every fd through the listener, then answer with the value.
        False if an install failed (the call then fails with its error)."""
        sent = False
        try:
            for i, inst in enumerate(result.fds):
                last = i == len(result.fds) - 1
                send = last and result.value == inst.guest_fd
                flags = SECCOMP_ADDFD_FLAG_SETFD | (SECCOMP_ADDFD_FLAG_SEND if send else 0)
                rc = lib.rp_notify_addfd(self.notify_fd, notif_id, inst.host_fd, inst.guest_fd,
                                         os.O_CLOEXEC if inst.cloexec else 0, flags)
                if rc < 0:
                    lib.rp_notify_send(self.notify_fd, notif_id, 0, rc, 0)
                    return False
                sent = send
        finally:
            for inst in result.fds:
                os.close(inst.host_fd)
        if not sent:
            lib.rp_notify_send(self.notify_fd, notif_id, result.value, 0, 0)
        return True

    def _deliver_pending(self, call: TrappedCall) -> None:
        pending = self._pending.pop(call.tid)
        installed = self._addfds_and_reply(call.notif_id, pending.result)
        if installed and pending.result.then is not None:
            self._follow_up[call.tid] = pending.result.then   # made at the exit stop
        if pending.then_exec is not None:
            self._pending_exec[call.tid] = pending.then_exec

    def _redirect_to_install(self, tid: int, pending: _PendingInstall, resume: int) -> None:
        """At a ptrace stop, turn the current call into RP_NR_INSTALL and resume."""
        regs = ffi.new("struct rp_regs *")
        rc = lib.rp_get_regs(tid, regs)
        if rc >= 0:
            regs.orig_rax = lib.RP_NR_INSTALL
            rc = lib.rp_set_regs(tid, regs)
        if rc < 0:  # killed at the stop: nothing will be installed
            for inst in pending.result.fds:
                os.close(inst.host_fd)
            _check(rc, "PTRACE_SETREGS")
        self._pending[tid] = pending
        self._ptrace(resume, tid, 0, 0)

    # -- exec ----------------------------------------------------------

    def _exec_via(self, call: TrappedCall, via: ExecVia) -> None:
        guest_fd = self.sentry.exec_fd_number(call.tid)
        install = InstallFds(0, [FdInstall(via.host_fd, guest_fd, cloexec=True)])
        via.host_fd = guest_fd  # from here on: the number in the caller
        self._redirect_to_install(call.tid, _PendingInstall(install, via), PTRACE_SYSCALL)

    def _rewrite_into_execveat(self, tid: int) -> None:
        via = self._pending_exec.pop(tid)
        regs = ffi.new("struct rp_regs *")
        _check(lib.rp_get_regs(tid, regs), "PTRACE_GETREGS")
        regs.rip -= 2  # back onto the `syscall` instruction
        regs.rax = regs.orig_rax = NR_EXECVEAT
        regs.rdi, regs.rsi, regs.rdx = via.host_fd, via.empty_addr, via.argv_addr
        regs.r10, regs.r8 = via.envp_addr, AT_EMPTY_PATH
        _check(lib.rp_set_regs(tid, regs), "PTRACE_SETREGS")
        self._exec_armed.add(tid)
        self._ptrace(PTRACE_CONT, tid, 0, 0)

    # -- a follow-up call (InstallFds.then) ------------------------------

    def _inject_call(self, tid: int) -> None:
        """At a stop right after the installing call returned (its exit stop, or
        the interrupt stop as it leaves), rewind onto its `syscall`
        instruction with the follow-up call in the registers, and watch it
        to its exit, where the registers are put back (the call's own
        result with them)."""
        call = self._follow_up.pop(tid)
        regs = ffi.new("struct rp_regs *")
        if lib.rp_get_regs(tid, regs) < 0:
            return   # killed at the stop: its exit event follows
        if callable(call):   # a call that needs the caller's registers to be made
            call = call(self, tid, regs.rsp)
            if call is None:
                self._ptrace(PTRACE_CONT, tid, 0, 0, ignore_esrch=True)
                return
        saved = ffi.new("struct rp_regs *")
        ffi.memmove(saved, regs, ffi.sizeof("struct rp_regs"))
        nr, *args = call
        args += [0] * (6 - len(args))
        regs.rip -= 2
        regs.rax = regs.orig_rax = nr
        regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9 = args
        if lib.rp_set_regs(tid, regs) < 0:
            return
        self._injected[tid] = [saved, call, False]
        self._ptrace(PTRACE_SYSCALL, tid, 0, 0, ignore_esrch=True)

    def _is_injected(self, tid: int, nr: int, args, ip: int) -> bool:
        """Whether a call is exactly the follow-up the sentry put in `tid`'s
        registers (from its instruction, with its arguments): a signal
        handler run in between makes its own calls, which are judged as usual."""
        saved, call, _entered = self._injected[tid]
        want = list(call[1:]) + [0] * (7 - len(call))
        return nr == call[0] and ip == saved.rip and [a & 0xFFFFFFFFFFFFFFFF for a in args] == want

    def _step_injected(self, tid: int) -> None:
        """A syscall stop of a task making a follow-up call: its entry (rax is
        -ENOSYS there), its exit (registers put back), or a stop of a
        signal handler's call made first (let through)."""
        entry = self._injected[tid]
        saved, call, entered = entry
        regs = ffi.new("struct rp_regs *")
        if lib.rp_get_regs(tid, regs) < 0:
            return
        ours = regs.orig_rax == call[0] and regs.rip == saved.rip
        if ours and not entered and regs.rax == (-errno.ENOSYS & 0xFFFFFFFFFFFFFFFF):
            entry[2] = True
        elif ours and entered:
            del self._injected[tid]
            lib.rp_set_regs(tid, saved)
            self._ptrace(PTRACE_CONT, tid, 0, 0, ignore_esrch=True)
            return
        self._ptrace(PTRACE_SYSCALL, tid, 0, 0, ignore_esrch=True)

    # -- ptrace lifecycle ----------------------------------------------

    def on_wait(self, pid: int, status: int) -> int:
        if lib.rp_opened_count():  # a fork copies, an exec closes: the table must be whole
            self._adopt_opened()
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            self._forget(pid)
            self.sentry.on_exit(pid, status)
            return self.sentry.finished
        if not os.WIFSTOPPED(status):
            return 0
        sig, event = os.WSTOPSIG(status), status >> 16
        if pid in self.sentry.job_control_stopped:  # any other stop: it was continued
            self.sentry.on_job_control_stop(pid, False)
        if sig == signal.SIGTRAP | 0x80:
            if pid in self._injected:
                self._step_injected(pid)
            elif pid in self._follow_up:
                self._inject_call(pid)
            elif pid in self._pending_exec:
                self._rewrite_into_execveat(pid)
            elif pid in self._at_exit:
                self._amend_at_exit(pid)
            else:  # a signal withdrew the exec's install: it will be made again
                self._ptrace(self._resume_request(pid), pid, 0, 0)
        elif event in (PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE):
            self._on_clone(pid)
        elif event == PTRACE_EVENT_EXEC:
            former = self._eventmsg(pid)
            self._exec_armed.discard(pid)
            self.sentry.on_exec(pid, former)
            self._ptrace(PTRACE_CONT, pid, 0, 0)
        elif event == PTRACE_EVENT_STOP:
            self._on_event_stop(pid, sig)
        else:  # a signal on its way to the tracee: the sentry may act instead
            self._restart_withdrawn_call(pid)
            self._ptrace(self._resume_request(pid), pid, 0, self.sentry.signal_delivery(pid, sig),
                         ignore_esrch=True)
        return self.sentry.finished

    def _amend_at_exit(self, tid: int) -> None:
        amend = self._at_exit.pop(tid)
        regs = ffi.new("struct rp_regs *")
        _check(lib.rp_get_regs(tid, regs), "PTRACE_GETREGS")
        rax = regs.rax
        amend(rax - (1 << 64) if rax >= 1 << 63 else rax)
        self._ptrace(self._resume_request(tid), tid, 0, 0)

    def _resume_request(self, tid: int) -> int:
        """PTRACE_SYSCALL while an exec's install is still to come, else PTRACE_CONT.

        If a signal withdrew the install, it is restarted after the handler
        (see below); only syscall stops catch its exit, where the call is
        rewritten into the execveat. Until then every stop of the task
        (the handler's own calls included) resumes this way.
        """
        pending = self._pending.get(tid)
        if pending is not None and (pending.then_exec is not None or pending.result.then is not None):
            return PTRACE_SYSCALL
        return PTRACE_SYSCALL if tid in self._injected else PTRACE_CONT

    def _restart_withdrawn_call(self, tid: int) -> None:
        """A signal withdrew a trapped call before the sentry received it.

        The kernel then returns -ERESTARTSYS, which a handler without
        SA_RESTART turns into EINTR: pipe2 or openat failing with EINTR, as
        Linux never does. For calls the sentry answers (and RP_NR_INSTALL),
        make it -ERESTARTNOINTR, so the call is made again after the handler.
        """
        if tid in self._interrupted:   # the sentry's own interruption: EINTR or SA_RESTART's restart
            self._interrupted.discard(tid)
            return
        regs = ffi.new("struct rp_regs *")
        if lib.rp_get_regs(tid, regs) < 0:
            return
        if regs.rax != (-ERESTARTSYS & 0xFFFFFFFFFFFFFFFF):
            return
        nr = regs.orig_rax
        args = (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)
        ran = self._continued.pop(tid, None)
        if ran is not None and ran[0] == nr and tuple(a & 0xFFFFFFFFFFFFFFFF for a in ran[1]) == args:
            return   # the host ran it (a native flock or F_SETLKW) and a signal ended it
        if nr == NR_INSTALL or self.sentry.answers(nr, args):
            regs.rax = -ERESTARTNOINTR & 0xFFFFFFFFFFFFFFFF
            lib.rp_set_regs(tid, regs)

    def _on_clone(self, parent: int) -> None:
        child = self._eventmsg(parent)
        regs = ffi.new("struct rp_regs *")
        _check(lib.rp_get_regs(parent, regs), "PTRACE_GETREGS")
        flags = self._clone_flags(parent, regs)
        self.sentry.on_clone(parent, child, flags)
        if child in self._early_stops:
            self._early_stops.discard(child)
            self._ptrace(PTRACE_CONT, child, 0, 0, ignore_esrch=True)
        else:
            self._awaiting_start.add(child)
        self._ptrace(PTRACE_CONT, parent, 0, 0, ignore_esrch=True)

    def _clone_flags(self, tid: int, regs) -> int:
        nr = regs.orig_rax
        if nr == NR_CLONE:
            return regs.rdi
        if nr == NR_CLONE3:
            try:
                return struct.unpack("<Q", self.read(tid, regs.rdi, 8))[0]
            except MemoryFault:
                return 0
        if nr == NR_VFORK:
            return CLONE_VM | CLONE_VFORK
        return signal.SIGCHLD

    def _on_event_stop(self, pid: int, sig: int) -> None:
        if sig == signal.SIGTRAP and pid in self._follow_up:   # the seccomp platform's interrupt
            self._inject_call(pid)
        elif pid in self._awaiting_start:  # a new child's first stop
            self._awaiting_start.discard(pid)
            self._ptrace(PTRACE_CONT, pid, 0, 0, ignore_esrch=True)
        elif not self.sentry.knows(pid):  # first stop before its parent's event
            self._early_stops.add(pid)
        elif sig in JOB_CONTROL_STOPS:  # group-stop: stay stopped until SIGCONT
            # it took the place of the interrupt stop a follow-up call waited
            # for: that call is not made (a terminal opened as a stop signal
            # arrived does not become the controlling one)
            self._follow_up.pop(pid, None)
            self.sentry.on_job_control_stop(pid, True)
            self._ptrace(PTRACE_LISTEN, pid, 0, 0, ignore_esrch=True)
        else:
            self._ptrace(PTRACE_CONT, pid, 0, 0, ignore_esrch=True)

    def _forget(self, pid: int) -> None:
        self._follow_up.pop(pid, None)
        self._injected.pop(pid, None)
        self._pending.pop(pid, None)
        self._pending_exec.pop(pid, None)
        self._at_exit.pop(pid, None)
        self._interrupted.discard(pid)
        self._continued.pop(pid, None)
        self._exec_armed.discard(pid)
        self._awaiting_start.discard(pid)
        self._early_stops.discard(pid)

    def _eventmsg(self, pid: int) -> int:
        msg = ffi.new("unsigned long *")
        self._ptrace(PTRACE_GETEVENTMSG, pid, 0, int(ffi.cast("uintptr_t", msg)))
        return msg[0]

    @staticmethod
    def _ptrace(request: int, pid: int, addr: int, data: int, ignore_esrch: bool = False) -> int:
        rc = lib.rp_ptrace(request, pid, addr, data)
        if rc < 0 and not (ignore_esrch and rc == -3):
            raise OSError(-rc, f"ptrace({request:#x}, {pid}): {os.strerror(-rc)}")
        return rc

    # -- siginfo of a signal at its delivery stop -------------------------

    def siginfo(self, tid: int) -> bytes:
        """The siginfo_t of the signal a task is stopped to receive."""
        buf = ffi.new("char[]", SIGINFO_SIZE)
        self._ptrace(PTRACE_GETSIGINFO, tid, 0, int(ffi.cast("uintptr_t", buf)))
        return ffi.buffer(buf, SIGINFO_SIZE)[:]

    def set_siginfo(self, tid: int, info: bytes) -> None:
        buf = ffi.new("char[]", info)
        self._ptrace(PTRACE_SETSIGINFO, tid, 0, int(ffi.cast("uintptr_t", buf)))

    # -- the fast path's identity table ----------------------------------

    @staticmethod
    def publish_ids(tid: int, vpid: int, vtid: int, vppid: int,
                    uid: int, euid: int, gid: int, egid: int, view: int = 0,
                    files: int = 0, here: int = 0) -> None:
        """What the C fast path answers for this thread: its virtual ids, and the
        views (for absolute paths, and for paths relative to its cwd) and fd
        table that answers replayed in C are keyed by (0: none)."""
        ids = ffi.new("struct rp_ids *", {
            "tid": tid, "vpid": vpid, "vtid": vtid, "vppid": vppid,
            "uid": uid, "euid": euid, "gid": gid, "egid": egid, "view": view, "files": files,
            "here": here})
        _check(lib.rp_ids_set(ids), "fast-path table")

    @staticmethod
    def retract_ids(tid: int) -> None:
        lib.rp_ids_clear(tid)

    @staticmethod
    def set_fast_path(on: bool) -> None:
        lib.rp_fast_path_enable(1 if on else 0)

    @staticmethod
    def fast_path_count(nr: int) -> int:
        return lib.rp_fast_path_count(nr)

    @staticmethod
    def remember_stat(view: int, form: int, path: bytes, packed: bytes | None,
                      err: int = 0) -> None:
        """Let the C fast path replay this answer (a packed struct stat or statx,
        as `form` says, or an errno) for the same call on the same absolute path
        and view, until it forgets."""
        if len(path) < lib.RP_STAT_PATH_MAX:
            lib.rp_stat_cache_put(view, form, path, packed if packed is not None else ffi.NULL, err)

    @staticmethod
    def remember_open(view: int, path: bytes, flags: int, host_fd: int, template: int) -> None:
        """Let the C fast path replay this read-only open (by re-opening the file
        host_fd is open on), until it forgets; `template` names the sentry's
        open file description for the fd table to adopt."""
        if len(path) < lib.RP_STAT_PATH_MAX:
            lib.rp_open_cache_put(view, path, flags, host_fd, template)

    def _adopt_opened(self) -> None:
        """Hand the opens (and closes) C answered since Python last ran to the sentry."""
        out = ffi.new("struct rp_opened[]", 256)
        while (n := lib.rp_opened_take(out, 256)) > 0:
            self.sentry.adopt_opened([(o.files, o.fd, o.file_id, bool(o.cloexec), o.closed_by)
                                      for o in out[0:n]])

    @staticmethod
    def forget_answers() -> None:
        """Make the C fast path forget every stat and open answer it holds."""
        lib.rp_stat_cache_flush()

    @staticmethod
    def mark_pure(nr: int, readonly_open_flags_arg: int | None = None) -> None:
        """Handling syscall `nr` never changes a path's attributes, so the stat
        cache survives it; with a flags argument, only when that call's flags
        neither write nor create (an open)."""
        if readonly_open_flags_arg is None:
            lib.rp_stat_cache_set_pure(nr, lib.RP_PURE_ALWAYS, 0)
        else:
            lib.rp_stat_cache_set_pure(nr, lib.RP_PURE_READONLY_OPEN, readonly_open_flags_arg)

    # -- guest memory --------------------------------------------------

    def read(self, tid: int, addr: int, size: int) -> bytes:
        buf = ffi.new("char[]", max(size, 1))
        n = lib.rp_mem_read(tid, addr, buf, size)
        if n != size:
            raise MemoryFault(addr)
        return ffi.buffer(buf, size)[:]

    def read_cstring(self, tid: int, addr: int, limit: int) -> bytes | None:
        """The NUL-terminated string at addr, or None if longer than `limit`."""
        buf = ffi.new("char[]", limit)
        n = lib.rp_mem_read_cstr(tid, addr, buf, limit)
        if n == -36:  # ENAMETOOLONG
            return None
        if n < 0:
            raise MemoryFault(addr)
        return ffi.buffer(buf, n)[:]

    def write(self, tid: int, addr: int, data: bytes) -> None:
        if lib.rp_mem_write(tid, addr, data, len(data)) != len(data):
            raise MemoryFault(addr)

    @staticmethod
    def stack_pointer(tid: int) -> int:
        """The caller's rsp; only at a ptrace stop (exec is always caught at one)."""
        regs = ffi.new("struct rp_regs *")
        _check(lib.rp_get_regs(tid, regs), "PTRACE_GETREGS")
        return regs.rsp

    def still_valid(self, call: TrappedCall) -> bool:
        """Whether a notification is still pending (memory read for it is trustworthy)."""
        return call.via_ptrace or lib.rp_notify_id_valid(call.listener, call.notif_id) == 0

    def fail(self, exc: BaseException) -> int:
        """A sentry bug escaped a callback: stop the loop and re-raise it from run()."""
        self._failure = exc
        return 1


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("the workload died while starting")
        data += chunk
    return data


def _check(rc: int, what: str) -> int:
    if rc < 0:
        raise OSError(-rc, f"{what}: {os.strerror(-rc)}")
    return rc


@ffi.def_extern()
def rp_py_trap(trap, reply):
    try:
        return _active.on_trap(trap, reply)
    except ProcessLookupError:  # the tracee was killed at its stop; its exit event follows
        reply.kind = REPLY_ERRNO
        reply.value = 3
        return _active.sentry.finished
    except BaseException as exc:  # noqa: BLE001 - fail closed on a sentry bug
        reply.kind = REPLY_ERRNO
        reply.value = 38
        return _active.fail(exc)


@ffi.def_extern()
def rp_py_wait(pid, status):
    try:
        return _active.on_wait(pid, status)
    except ProcessLookupError:  # the tracee was killed at its stop; its exit event follows
        return _active.sentry.finished
    except BaseException as exc:  # noqa: BLE001
        return _active.fail(exc)


@ffi.def_extern()
def rp_py_event(fd, events):
    try:
        handler = _active._event_handlers.get(fd)
        if lib.rp_opened_count():
            _active._adopt_opened()
        if handler is not None:
            handler(events)
        return _active.sentry.finished
    except BaseException as exc:  # noqa: BLE001
        return _active.fail(exc)


LISTENER_WAIT = 30.0   # seconds: a child between its message and its filter


def _take_listener(pid: int, number: int, sync: socket.socket) -> int:
    """The seccomp listener the child is about to make at fd `number`: it says
    the number first (csrc/interpose.c, child_main), then loads its filters,
    so the fd may not be there yet. Waits for it, or for the child's end and
    the errno it sent then."""
    pidfd = _check(lib.rp_pidfd_open(pid), "pidfd_open")
    try:
        waiting = select.poll()
        waiting.register(pidfd, select.POLLIN)
        deadline = time.monotonic() + LISTENER_WAIT
        while True:
            fd = lib.rp_pidfd_getfd(pidfd, number)
            if fd != -errno.EBADF:
                return _check(fd, "pidfd_getfd(listener)")
            if waiting.poll(1) or time.monotonic() > deadline:   # it exited, or never will load
                err = _sent_errno(sync)
                raise OSError(err, f"the workload could not load its seccomp filters: "
                                   f"{os.strerror(err)}")
    finally:
        os.close(pidfd)


def _sent_errno(sync: socket.socket) -> int:
    """The errno a child sent before it exited (child_fail), else ECHILD."""
    try:
        (code,) = struct.unpack("<i", sync.recv(4, socket.MSG_DONTWAIT))
    except (OSError, struct.error):
        return errno.ECHILD
    return -code if code < 0 else errno.ECHILD
