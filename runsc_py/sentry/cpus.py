"""The CPUs a pinned sandbox shows its workload (sched_getaffinity).

With --cpu-pin the workload, the sentry and the gofer share one CPU: every
trapped call is then a wake-up on the waker's own CPU (docs/architecture.md,
"The gofer"). The pin is the sandbox's business, not the workload's: `nproc`,
a thread pool's size and `os.sched_getaffinity` must still see the CPUs the
workload would have had, as under runc. The kernel's answers are kept for a
task that chose its own CPUs (syscalls/process.py).
"""
from __future__ import annotations

import os

POSSIBLE = "/sys/devices/system/cpu/possible"


def possible_count(path: str = POSSIBLE) -> int:
    """Linux's nr_cpu_ids: one more than the highest possible CPU ("0-3,8")."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return max(os.sched_getaffinity(0)) + 1
    return max(int(part.split("-")[-1]) for part in text.split(",")) + 1


def mask_bytes(cpus: frozenset[int], size: int) -> bytes:
    """A CPU mask of `size` bytes (the kernel's cpumask_size(): rp_cpumask_size)."""
    bits = sum(1 << cpu for cpu in cpus if cpu < size * 8)
    return bits.to_bytes(size, "little")
