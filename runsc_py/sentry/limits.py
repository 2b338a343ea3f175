"""What the sandbox is allowed, as its configuration says (OCI `linux.resources`),
and the per-process limits the sentry enforces itself (RLIMIT_NPROC).

The sentry reports these where a program looks (meminfo, cpuinfo,
sysinfo, sched_getaffinity) and enforces the ones it owns (the pids limit
at clone); the host enforces the rest through the cgroup around the whole
sandbox. None means "no limit set": the host's own figure shows through.
"""
from __future__ import annotations

import dataclasses
import resource

CAP_SYS_ADMIN, CAP_SYS_RESOURCE = 21, 24


@dataclasses.dataclass
class SandboxLimits:
    memory_bytes: int | None = None   # memory.limit_in_bytes / memory.max
    swap_bytes: int | None = None     # memory+swap above the memory limit
    cpus: float | None = None         # quota / period, e.g. 1.5
    cpuset: tuple[int, ...] | None = None  # the CPUs the sandbox may run on
    pids: int | None = None           # pids.max: tasks (threads count) at once


def over_nproc(tasks, in_flight, task, uid: int, slack: int, caps_exempt: bool = True) -> bool:
    """RLIMIT_NPROC (kernel/fork.c, kernel/sys.c set_user, fs/exec.c): whether
    `uid` has more than `slack` tasks past `task`'s limit, counting threads
    and the clones `in_flight` (host tids of tasks whose clone is under way),
    for a caller the limit binds: not uid 0, and (for clone: `caps_exempt`)
    without CAP_SYS_RESOURCE or CAP_SYS_ADMIN.

    The host cannot enforce it: every sandbox task has the sandbox's host
    uid, whatever uid it has switched to in the sandbox. The limit itself is
    the host's (setrlimit runs natively)."""
    creds = task.process.creds
    if uid == 0 or caps_exempt and (creds.capable(CAP_SYS_RESOURCE) or creds.capable(CAP_SYS_ADMIN)):
        return False
    try:
        limit = resource.prlimit(task.host_tid, resource.RLIMIT_NPROC)[0]
    except OSError:
        return False   # the task is gone; its exit event follows
    if limit == resource.RLIM_INFINITY:
        return False
    count = sum(1 for t in tasks.by_host_tid.values() if t.process.creds.uid == uid)
    count += sum(1 for tid in in_flight if tasks.by_host_tid[tid].process.creds.uid == uid)
    return count > limit - 1 + slack
