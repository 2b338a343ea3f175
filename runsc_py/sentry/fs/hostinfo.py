"""What the sentry reads from the host's /proc and /sys, in one place.

procfs and sysfs show some values the host owns (memory maps, cpu times,
process states, the cmdline in a process's own memory, the CPUs). They are
read here and only here, so that when the sentry confines itself (chroot,
its own seccomp filter) one kept /proc fd is all this module needs. Callers
translate what they read before a workload sees it: no host pid, no host
path outside the sandbox's root.
"""
from __future__ import annotations

import errno
import math
import os

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.limits import SandboxLimits

PROC = "/proc"
SYS_CPU = "/sys/devices/system/cpu"


def read(path: str) -> bytes:
    """A host /proc or /sys file, whole; a vanished process reads as ESRCH."""
    try:
        with open(path, "rb", buffering=0) as f:
            chunks = []
            while chunk := f.read(65536):
                chunks.append(chunk)
            return b"".join(chunks)
    except FileNotFoundError:
        raise SyscallError(errno.ESRCH) from None
    except ProcessLookupError:
        raise SyscallError(errno.ESRCH) from None


def task_file(host_tid: int, name: str) -> bytes:
    """/proc/<host_tid>/<name> of a workload thread, as the host has it."""
    return read(f"{PROC}/{host_tid}/{name}")


def open_task_file(host_tid: int, name: str, flags: int) -> int:
    """An fd of /proc/<host_tid>/<name> of a workload thread (its `mem`),
    opened by the sentry, its tracer; a vanished process is ESRCH."""
    try:
        return os.open(f"{PROC}/{host_tid}/{name}", flags | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError):
        raise SyscallError(errno.ESRCH) from None


def parse_cpu_list(text: str) -> list[int]:
    """"0-3,6" -> [0, 1, 2, 3, 6] (the format of sysfs cpu lists and cpuset.cpus)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def format_cpu_list(cpus: list[int]) -> str:
    """[0, 1, 2, 3, 6] -> "0-3,6"."""
    parts: list[str] = []
    start = prev = None
    for cpu in sorted(set(cpus)):
        if prev is not None and cpu == prev + 1:
            prev = cpu
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = cpu
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(parts)


def host_cpus(kind: str = "online") -> list[int]:
    try:
        return parse_cpu_list(read(f"{SYS_CPU}/{kind}").decode())
    except (SyscallError, ValueError):
        return list(range(os.cpu_count() or 1))


def visible_cpus(limits: SandboxLimits, kind: str = "online") -> list[int]:
    """The CPUs the sandbox is shown: the cpuset's (host numbering, as
    sched_getcpu reports them), at most ceil(quota) of them when a quota is set."""
    cpus = host_cpus(kind)
    if limits.cpuset is not None:
        cpus = [c for c in cpus if c in set(limits.cpuset)] or sorted(limits.cpuset)
    if limits.cpus is not None:
        cpus = cpus[: max(1, math.ceil(limits.cpus))]
    return cpus


def to_guest(host_path: str, host_paths: list[tuple[str, str]]) -> str | None:
    """The guest path of a host path, by the longest host prefix the sandbox
    mounts ((host path, guest mountpoint): its root, its bind mounts); None
    when the sandbox has no name for it."""
    best: tuple[int, str] | None = None
    for host_prefix, guest in host_paths:
        prefix = host_prefix.rstrip("/")
        if host_path == prefix or host_path.startswith(prefix + "/") or not prefix:
            if best is None or len(prefix) > best[0]:
                rest = host_path[len(prefix):].lstrip("/")
                best = (len(prefix), (guest.rstrip("/") + "/" + rest) if rest else guest)
    return best[1] if best else None
