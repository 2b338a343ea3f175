"""Platforms: how a workload's syscalls are caught and answered.

A platform knows nothing about what a syscall means. It hands each trapped
call to the sentry as a `TrappedCall` and applies the sentry's answer, which
is one of the results below. The sentry imports only this module, never a
platform's internals.

    value (int)        the call returns it
    SyscallError(e)    the call fails with errno e (raised by handlers)
    NATIVE             the host runs the call as the workload made it
    InstallFds(...)    host fds are installed in the caller, then a value is returned
                       (and, with `then`, the caller makes one more call natively
                       before it runs on: see InstallFds)
    ExecVia(...)       the caller execs a file the sentry opened (execveat by fd)
    HELD               the sentry parks the call and answers it later
    AtExit(amend)      the host runs the call; amend(result) is called at its
                       exit, before the caller runs on (Policy.AT_EXIT calls only)
"""
from __future__ import annotations

import os

# The answers are plain slotted classes, not dataclasses: every cold start
# imports this module, and `dataclasses` costs ~6 ms to import.


class _Native:
    def __repr__(self) -> str:
        return "NATIVE"


class _Held:
    def __repr__(self) -> str:
        return "HELD"


NATIVE = _Native()
HELD = _Held()


class FdInstall:
    """One host fd (owned by the sentry, closed after install) to put at `guest_fd`."""

    __slots__ = ("host_fd", "guest_fd", "cloexec")

    def __init__(self, host_fd: int, guest_fd: int, cloexec: bool = False):
        self.host_fd = host_fd
        self.guest_fd = guest_fd
        self.cloexec = cloexec


class InstallFds:
    """Install `fds`, answer the call with `value`. `then`, if given, is a call
    (number, arguments) the caller makes natively right after, before any of
    its own instructions run, as part of the same call: its result is
    dropped and the call still answers `value`. It is made only if the
    install succeeded. (An open of a terminal that makes it the controlling
    one: only the process itself can, with TIOCSCTTY.) `then` may instead
    be a function (platform, tid, rsp) -> such a call or None, called at
    the stop where it is made (sentry/signalfd_reads.py writes there first)."""

    __slots__ = ("value", "fds", "then")

    def __init__(self, value: int, fds: list[FdInstall], then: tuple[int, ...] | None = None):
        self.value = value
        self.fds = fds
        self.then = then


class ExecVia:
    """Exec `host_fd` in the caller with argv/envp at these guest addresses.

    `argv_addr` may point at memory the sentry wrote (a rewritten argv for a
    `#!` script); `empty_addr` points at a NUL byte in the caller's memory.
    """

    __slots__ = ("host_fd", "argv_addr", "envp_addr", "empty_addr")

    def __init__(self, host_fd: int, argv_addr: int, envp_addr: int, empty_addr: int):
        self.host_fd = host_fd
        self.argv_addr = argv_addr
        self.envp_addr = envp_addr
        self.empty_addr = empty_addr


class AtExit:
    """Let the host run the call, then call `amend(result)` (the call's return
    value, or -errno) at its exit, while the caller is stopped: the sentry may
    rewrite what the call wrote in its memory. Only a call the filter traces
    (Policy.AT_EXIT) has an exit stop; any other gets NATIVE's treatment."""

    __slots__ = ("amend",)

    def __init__(self, amend):   # amend: Callable[[int], None]
        self.amend = amend


class TrappedCall:
    """A syscall the platform caught: who made it and with what arguments.

    A plain slotted class, not a dataclass: one is made per trapped call.
    """

    __slots__ = ("tid", "nr", "args", "ip", "notif_id", "via_ptrace", "exec_trace", "listener")

    def __init__(self, tid: int, nr: int, args: list[int], ip: int, notif_id: int,
                 via_ptrace: bool, exec_trace: bool = False, listener: int = -1):
        self.tid = tid
        self.nr = nr
        self.args = args            # the six argument registers
        self.ip = ip
        self.notif_id = notif_id    # seccomp notification id, 0 for a ptrace stop
        self.via_ptrace = via_ptrace
        self.exec_trace = exec_trace  # caught by the filter's exec rule
        self.listener = listener      # the seccomp listener it came through (an exec'd
                                      # process has its own): a parked call is answered there


class MemoryFault(Exception):
    """A guest address the workload passed could not be read or written (EFAULT)."""


# The workload's host uid and gid: this base plus the sentry's host pid, so
# each live sandbox has ids of its own (pid_max is at most 2^22) that no
# host user, subordinate-id range or other sandbox holds. Per-uid host
# limits (RLIMIT_NPROC, inotify instances) then count one sandbox each.
HOST_ID_BASE = 2_000_000_000


def workload_host_id() -> int:
    """The unprivileged host uid (and gid) of this sandbox's processes: no
    host file, process or limit is theirs. Call it in the sentry: a process
    forked from it (the spawner) has another pid."""
    return HOST_ID_BASE + os.getpid()


def create(name: str, **options):
    """The platform called `name` ("seccomp" or "ptrace")."""
    if name == "seccomp":
        from runsc_py.platform.seccomp import SeccompPlatform

        return SeccompPlatform(**options)
    if name == "ptrace":
        from runsc_py.platform.ptrace import PtracePlatform

        return PtracePlatform(**options)
    raise ValueError(f"unknown platform {name!r} (expected seccomp or ptrace)")
