"""What the sandbox is allowed, as its configuration says (OCI `linux.resources`),
and the per-process limits the sentry keeps itself (RLIMIT_CORE, RLIMIT_NPROC).

The sentry reports these where a program looks (meminfo, cpuinfo,
sysinfo, sched_getaffinity) and enforces the ones it owns (the pids limit
at clone); the host enforces the rest through the cgroup around the whole
sandbox. None means "no limit set": the host's own figure shows through.
"""
from __future__ import annotations

import errno
import os
import resource

from runsc_py.sentry.errors import SyscallError

CAP_SYS_ADMIN, CAP_SYS_RESOURCE = 21, 24
RLIMIT_CORE, RLIMIT_NPROC, RLIMIT_NOFILE = 4, 6, 7
RLIM_INFINITY = (1 << 64) - 1
# Limits the sandbox sees and sets but the host must not follow: the host's
# RLIMIT_CORE of a workload process is 1 byte for good (no core ever lands on the
# host), and its RLIMIT_NPROC would count every task of the sandbox, which
# has one host uid, against whatever user a task is in the sandbox.
SANDBOX_RLIMITS = (RLIMIT_CORE, RLIMIT_NPROC)


def initial_rlimits() -> dict[int, tuple[int, int]]:
    """The sandbox-kept limits of a first process: the sentry's own, as a
    child inherits its parent's (OCI process.rlimits may then set them)."""
    return {r: tuple(_unsigned(v) for v in resource.getrlimit(r)) for r in SANDBOX_RLIMITS}


def set_rlimit(limits: dict[int, tuple[int, int]], res: int, soft: int, hard: int,
               may_raise: bool) -> None:
    """do_prlimit's checks for a limit the sentry keeps: soft above hard is
    EINVAL, a raised hard limit needs CAP_SYS_RESOURCE (`may_raise`)."""
    if soft > hard:
        raise SyscallError(errno.EINVAL)
    if hard > limits[res][1] and not may_raise:
        raise SyscallError(errno.EPERM)
    limits[res] = (soft, hard)


def _unsigned(v: int) -> int:
    return RLIM_INFINITY if v == resource.RLIM_INFINITY else v


SIZE_SUFFIXES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text: str | int) -> int:
    """A size as tmpfs's size= and the CLI's --memory take it: bytes, with a
    k/m/g suffix ("512M"), or a percentage of the host's memory ("50%")."""
    if isinstance(text, int):
        return text
    text = text.strip()
    try:
        if text.endswith("%"):
            memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            return memory * int(text[:-1]) // 100
        unit = SIZE_SUFFIXES.get(text[-1:].lower(), 1)
        return int(text[:-1] if unit != 1 else text) * unit
    except ValueError:
        raise ValueError(f"not a size: {text!r} (bytes, or 512k, 64M, 2G, 50%)") from None


class SandboxLimits:
    """A plain class, not a dataclass: `runsc-py start`, `delete`, `pause`...
    read config.json or make a cgroup, and a dataclass would cost each of
    them the dataclasses module (~9 ms here) for these five fields."""

    __slots__ = ("memory_bytes", "swap_bytes", "cpus", "cpuset", "pids")

    def __init__(self, memory_bytes: int | None = None, swap_bytes: int | None = None,
                 cpus: float | None = None, cpuset: tuple[int, ...] | None = None,
                 pids: int | None = None):
        self.memory_bytes = memory_bytes   # memory.limit_in_bytes / memory.max
        self.swap_bytes = swap_bytes       # memory+swap above the memory limit
        self.cpus = cpus                   # quota / period, e.g. 1.5
        self.cpuset = cpuset               # the CPUs the sandbox may run on
        self.pids = pids                   # pids.max: tasks (threads count) at once

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other) -> bool:
        return isinstance(other, SandboxLimits) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return "SandboxLimits(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"


def over_nproc(tasks, in_flight, task, uid: int, slack: int, caps_exempt: bool = True) -> bool:
    """RLIMIT_NPROC (kernel/fork.c, kernel/sys.c set_user, fs/exec.c): whether
    `uid` has more than `slack` tasks past `task`'s limit, counting threads
    and the clones `in_flight` (host tids of tasks whose clone is under way),
    for a caller the limit binds: not uid 0, and (for clone: `caps_exempt`)
    without CAP_SYS_RESOURCE or CAP_SYS_ADMIN. A zombie counts until its
    parent reaps it, as on Linux (its leader is released only then).

    The host cannot enforce it: every sandbox task has the sandbox's host
    uid, whatever uid it has switched to in the sandbox. The limit is the
    sentry's too (SANDBOX_RLIMITS)."""
    creds = task.process.creds
    if uid == 0 or caps_exempt and (creds.capable(CAP_SYS_RESOURCE) or creds.capable(CAP_SYS_ADMIN)):
        return False
    limit = task.process.rlimits[RLIMIT_NPROC][0]
    if limit == RLIM_INFINITY:
        return False
    count = sum(1 for t in tasks.by_host_tid.values() if t.process.creds.uid == uid)
    count += sum(1 for p in tasks.zombies.all() if p.creds.uid == uid)   # counted until reaped
    count += sum(1 for tid in in_flight if tasks.by_host_tid[tid].process.creds.uid == uid)
    return count > limit - 1 + slack
