"""The system-wide files of /proc: cpuinfo, meminfo, stat, uptime, loadavg,
version, filesystems.

The host owns the hardware figures (CPU model, memory, cpu times, uptime);
the sentry owns what the sandbox may use (kernel.limits) and its processes.
So each file starts from the host's and is cut down: only the visible CPUs
(hostinfo.visible_cpus), memory no larger than the limit, and counts of the
sandbox's own processes where the host's would show its own (loadavg's
running/total and last pid, stat's procs_running and processes).

`re` is imported by the functions that use it: these files are read
rarely, and re would cost every sandbox's start-up ~1.7 ms.
"""
from __future__ import annotations

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs import hostinfo

KIB = 1024
# what the sandbox's kernel can mount, as Linux lists them ("nodev": no block device)
FILESYSTEMS = ("sysfs", "tmpfs", "proc", "devpts", "overlay", "mqueue", "9p")


def render_version() -> bytes:
    from runsc_py.syscalls.misc import SANDBOX_RELEASE, SANDBOX_VERSION

    return (b"Linux version " + SANDBOX_RELEASE + b" (runsc-py@sandbox) (gcc) "
            + SANDBOX_VERSION + b"\n")


def render_cmdline() -> bytes:
    """The sandbox's own boot line: the host's would show its kernel image,
    root device and options."""
    return b"BOOT_IMAGE=/vmlinuz-" + _release() + b" root=/dev/root ro quiet\n"


def _release() -> bytes:
    from runsc_py.syscalls.misc import SANDBOX_RELEASE

    return SANDBOX_RELEASE


# The character devices devfs offers, by major number, as Linux lists them.
CHARACTER_DEVICES = ((1, "mem"), (4, "/dev/vc/0"), (4, "tty"), (5, "/dev/tty"),
                     (5, "/dev/console"), (5, "/dev/ptmx"), (128, "ptm"), (136, "pts"))


def render_devices() -> bytes:
    """The device drivers by major number: those of the sandbox's devfs; no block devices."""
    lines = ["Character devices:"] + [f"{major:3d} {name}" for major, name in CHARACTER_DEVICES]
    return ("\n".join(lines) + "\n\nBlock devices:\n").encode()


def render_swaps() -> bytes:
    """The sandbox has no swap device of its own (its swap limit shows in meminfo)."""
    return b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


def render_filesystems() -> bytes:
    return "".join(f"nodev\t{name}\n" for name in FILESYSTEMS).encode()


def render_cpuinfo(kernel) -> bytes:
    """The host's processor blocks for the visible CPUs only, siblings counted again."""
    import re

    cpus = hostinfo.visible_cpus(kernel.limits)
    blocks = hostinfo.read("/proc/cpuinfo").decode(errors="replace").strip("\n").split("\n\n")
    kept = []
    for block in blocks:
        m = re.match(r"processor\s*:\s*(\d+)", block)
        if m is None or int(m.group(1)) not in cpus:
            continue
        block = re.sub(r"(?m)^(siblings|cpu cores)(\s*):.*$", rf"\1\2: {len(cpus)}", block)
        kept.append(block)
    return ("\n\n".join(kept) + "\n\n").encode()


def render_meminfo(kernel) -> bytes:
    """The host's meminfo, with MemTotal the limit and the figures under it
    computed from the sandbox's own resident memory when a limit is set."""
    lines = hostinfo.read("/proc/meminfo").decode().splitlines()
    limit = kernel.limits.memory_bytes
    if limit is None:
        return ("\n".join(lines) + "\n").encode()
    total_kib = limit // KIB
    used_kib = min(total_kib, _sandbox_rss_kib(kernel))
    swap_kib = (kernel.limits.swap_bytes or 0) // KIB
    computed = {
        "MemTotal": total_kib, "MemFree": total_kib - used_kib,
        "MemAvailable": total_kib - used_kib, "Buffers": 0, "Cached": 0,
        "SwapCached": 0, "SwapTotal": swap_kib, "SwapFree": swap_kib,
    }
    out = []
    for line in lines:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if name in computed:
            value = computed[name]
        elif len(fields) == 2 and fields[1] == "kB":
            value = min(int(fields[0]), total_kib)
        else:
            out.append(line)
            continue
        out.append(f"{name + ':':<16}{value:>8} kB")
    return ("\n".join(out) + "\n").encode()


def _sandbox_rss_kib(kernel) -> int:
    import re

    total = 0
    for vpid in list(kernel.tasks.processes):
        host = kernel.tasks.host_pid_of(vpid)
        try:
            status = hostinfo.task_file(host, "status")
        except (SyscallError, OSError):  # a process that just exited uses nothing
            continue
        m = re.search(rb"^VmRSS:\s*(\d+)", status, re.M)
        total += int(m.group(1)) if m else 0
    return total


def render_stat(kernel) -> bytes:
    """cpu lines for the visible CPUs (the "cpu" total summed again), the
    host's counters, and the sandbox's own process counts."""
    import re

    cpus = hostinfo.visible_cpus(kernel.limits)
    per_cpu, rest = [], []
    for line in hostinfo.read("/proc/stat").decode().splitlines():
        m = re.match(r"cpu(\d+) ", line)
        if m:
            if int(m.group(1)) in cpus:
                per_cpu.append(line)
        elif not line.startswith("cpu "):
            rest.append(line)
    sums = [0] * 10
    for line in per_cpu:
        for i, v in enumerate(line.split()[1:11]):
            sums[i] += int(v)
    running, blocked = _task_states(kernel)
    counts = {"processes": max(kernel.tasks.processes, default=1),
              "procs_running": running, "procs_blocked": blocked}
    out = ["cpu  " + " ".join(map(str, sums))] + per_cpu
    for line in rest:
        key = line.split(" ", 1)[0]
        out.append(f"{key} {counts[key]}" if key in counts else line)
    return ("\n".join(out) + "\n").encode()


def render_uptime() -> bytes:
    """The host's: the workload reads CLOCK_BOOTTIME natively, and they must agree."""
    return hostinfo.read("/proc/uptime")


def render_loadavg(kernel) -> bytes:
    """The host's load averages; runnable/total tasks and the last pid are the sandbox's."""
    loads = hostinfo.read("/proc/loadavg").decode().split()[:3]
    running, _blocked = _task_states(kernel)
    total = len(kernel.tasks)
    last = max((t.vtid for t in list(kernel.tasks.by_host_tid.values())), default=0)
    return f"{' '.join(loads)} {running}/{total} {last}\n".encode()


def _task_states(kernel) -> tuple[int, int]:
    """(runnable, uninterruptible) among the sandbox's threads; the caller runs."""
    running = blocked = 0
    current = kernel.current
    for task in list(kernel.tasks.by_host_tid.values()):
        if task is current:
            running += 1
            continue
        try:
            state = hostinfo.task_file(task.host_tid, "stat").rsplit(b")", 1)[1].split()[0]
        except (SyscallError, OSError):  # exited meanwhile
            continue
        running += state == b"R"
        blocked += state == b"D"
    return running, blocked
