"""What the sandbox is allowed, as its configuration says (OCI `linux.resources`).

The sentry reports these where a program looks (meminfo, cpuinfo,
sysinfo, sched_getaffinity) and enforces the ones it owns (the pids limit
at clone); the host enforces the rest through the cgroup around the whole
sandbox. None means "no limit set": the host's own figure shows through.
"""
from __future__ import annotations


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
