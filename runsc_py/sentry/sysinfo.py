"""sysinfo(2) as the sandbox sees it: its own uptime, processes and memory.

Uptime counts from the sandbox's start, `procs` counts the sandbox's
threads (what Linux counts), and memory is the host's figure capped by the
configured limit (kernel.limits), so a program sizing itself from sysinfo
sees what it may use. Load averages are the host's business: reported 0,
as gVisor does.
"""
from __future__ import annotations

import struct
import time

# long uptime; ulong loads[3]; ulong totalram, freeram, sharedram, bufferram,
# totalswap, freeswap; ushort procs; (pad); ulong totalhigh, freehigh;
# uint mem_unit; char _f[4]
SYSINFO = struct.Struct("<q3Q6QH6x2QI4x")


def host_meminfo() -> dict[str, int]:
    """The host's /proc/meminfo in bytes, by field name."""
    out = {}
    with open("/proc/meminfo", "rb") as f:
        for line in f:
            name, _, rest = line.partition(b":")
            words = rest.split()
            if words:
                out[name.decode()] = int(words[0]) * (1024 if len(words) > 1 else 1)
    return out


def sysinfo_bytes(kernel) -> bytes:
    mem = host_meminfo()
    limits = kernel.limits
    total, free = mem.get("MemTotal", 0), mem.get("MemAvailable", mem.get("MemFree", 0))
    swap_total, swap_free = mem.get("SwapTotal", 0), mem.get("SwapFree", 0)
    if limits.memory_bytes is not None:
        total, free = min(total, limits.memory_bytes), min(free, limits.memory_bytes)
    if limits.swap_bytes is not None:
        swap_total, swap_free = min(swap_total, limits.swap_bytes), min(swap_free, limits.swap_bytes)
    uptime = int(time.monotonic() - kernel.started)
    procs = min(len(kernel.tasks), 0xFFFF)
    return SYSINFO.pack(uptime, 0, 0, 0, total, free, mem.get("Shmem", 0), mem.get("Buffers", 0),
                        swap_total, swap_free, procs, 0, 0, 1)
