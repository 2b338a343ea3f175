"""The sandbox's /sys: the minimum that glibc, Python, Go and busybox read.

- devices/system/cpu/{online,possible,present} and cpuN/: the CPUs the
  sandbox is shown (hostinfo.visible_cpus: the cpuset, at most ceil(quota)
  of them), so sysconf(_SC_NPROCESSORS_ONLN), os.cpu_count() and
  /proc/cpuinfo agree. `possible` stays the host's, as in a container.
- kernel/mm/transparent_hugepage/{enabled,hpage_pmd_size} (Go's runtime reads them).
- fs/cgroup: an empty directory; the OCI runtime's cgroup mount goes there.
Everything else is ENOENT; nothing of the host's /sys shows through.
"""
from __future__ import annotations

from collections.abc import Callable

from runsc_py.sentry.fs import hostinfo
from runsc_py.sentry.fs.synthetic import Dir, Entry, File, SyntheticFilesystem, fixed, listing

SYSFS_MAGIC = 0x62656572


class SysFilesystem(SyntheticFilesystem):
    fstype = "sysfs"
    magic = SYSFS_MAGIC

    def __init__(self, kernel, dir_fd_source: Callable[[], int]):
        self.kernel = kernel
        root = listing({
            "devices": listing({"system": listing({"cpu": Dir(self._cpu_dir)})}),
            "kernel": listing({"mm": listing({"transparent_hugepage": listing({
                "enabled": fixed("always [madvise] never\n"),
                "hpage_pmd_size": fixed("2097152\n"),
            })})}),
            "fs": listing({"cgroup": listing({})}),
        })
        super().__init__(root, dir_fd_source)

    def _cpu_dir(self) -> dict[str, Entry]:
        limits = self.kernel.limits
        shown = hostinfo.visible_cpus(limits)
        entries: dict[str, Entry] = {
            "online": File(lambda: _cpu_list(hostinfo.visible_cpus(limits))),
            "present": File(lambda: _cpu_list(hostinfo.visible_cpus(limits))),
            "possible": File(lambda: _cpu_list(hostinfo.host_cpus("possible"))),
        }
        for cpu in shown:
            entries[f"cpu{cpu}"] = listing({"online": fixed("1\n")})
        return entries


def _cpu_list(cpus: list[int]) -> bytes:
    return (hostinfo.format_cpu_list(cpus) + "\n").encode()
