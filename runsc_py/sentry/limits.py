"""What the sandbox is allowed, as its configuration says (OCI `linux.resources`).

The sentry reports these where a program looks (meminfo, cpuinfo,
sysinfo, sched_getaffinity) and enforces the ones it owns (the pids limit
at clone); the host enforces the rest through the cgroup around the whole
sandbox. None means "no limit set": the host's own figure shows through.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class SandboxLimits:
    memory_bytes: int | None = None   # memory.limit_in_bytes / memory.max
    swap_bytes: int | None = None     # memory+swap above the memory limit
    cpus: float | None = None         # quota / period, e.g. 1.5
    cpuset: tuple[int, ...] | None = None  # the CPUs the sandbox may run on
    pids: int | None = None           # pids.max: tasks (threads count) at once
