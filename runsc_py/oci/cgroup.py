"""The cgroup around a whole sandbox (sentry, gofer and workload).

The host enforces `linux.resources` here; the sentry only reports them.
Cgroup v2 where /sys/fs/cgroup is the unified hierarchy; otherwise the v1
controllers (this VM is hybrid: v1 controllers, an empty v2 tree for
systemd). The freezer is how `pause` stops the sandbox: the sentry is
frozen with its workload, so pause/resume/stats never go through it.
"""
from __future__ import annotations

import contextlib
import errno
import os
import time

from runsc_py.sentry.limits import SandboxLimits

CGROUP_ROOT = "/sys/fs/cgroup"
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer")
# What only `linux.resources`' block I/O, network, huge page and RDMA values
# use: a container's directory there is made (and then joined) only when
# its spec sets one, not for every container (a hierarchy more costs a
# mkdir, a join and an rmdir on every cold start).
V1_ON_DEMAND = ("blkio", "net_cls", "net_prio", "hugetlb", "rdma")
# blockIO's throttles: spec key -> v1 file's middle, v2 io.max key
THROTTLES = {"throttleReadBpsDevice": ("read_bps", "rbps"),
             "throttleWriteBpsDevice": ("write_bps", "wbps"),
             "throttleReadIOPSDevice": ("read_iops", "riops"),
             "throttleWriteIOPSDevice": ("write_iops", "wiops")}


class CgroupError(Exception):
    pass


def unified() -> bool:
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def resolve_path(cgroups_path: str, cid: str) -> str:
    """linux.cgroupsPath → a path below each hierarchy's root.

    `slice:prefix:name` is systemd's form (--systemd-cgroup; we manage it
    as a plain directory `slice/prefix-name.scope`); empty means
    `/runsc-py/ID`; a relative path is placed under `/runsc-py`.
    """
    if not cgroups_path:
        return f"/runsc-py/{cid}"
    if ":" in cgroups_path:
        slice_, prefix, name = (cgroups_path.split(":") + ["", ""])[:3]
        return "/" + "/".join(p for p in (slice_ or "system.slice", f"{prefix}-{name}.scope") if p)
    if not cgroups_path.startswith("/"):
        return "/runsc-py/" + cgroups_path
    return cgroups_path


class Cgroup:
    def __init__(self, path: str):
        self.path = path
        self.v2 = unified()

    def dirs(self) -> dict[str, str]:
        rel = self.path.lstrip("/")
        if self.v2:
            return {"unified": os.path.join(CGROUP_ROOT, rel)}
        dirs = {c: os.path.join(CGROUP_ROOT, c, rel) for c in V1_CONTROLLERS
                if os.path.isdir(os.path.join(CGROUP_ROOT, c))}
        dirs.update((c, os.path.join(CGROUP_ROOT, c, rel)) for c in V1_ON_DEMAND
                    if os.path.isdir(os.path.join(CGROUP_ROOT, c, rel)))   # made by _apply_other
        return dirs

    def create(self, drain_s: float = 2.0) -> None:
        """Make the directories. One that still holds processes after
        `drain_s` (a container of this id just deleted may still be dying)
        belongs to someone else: a container of the same id under another
        --root, whose delete would kill ours, or ours theirs. It is refused,
        as runc refuses it."""
        deadline = time.monotonic() + drain_s
        for controller, d in self.dirs().items():
            self._makedirs(controller, d)
            while procs := _read(os.path.join(d, "cgroup.procs")).split():
                if time.monotonic() > deadline:
                    raise CgroupError(
                        f"cgroup {self.path} is not empty ({len(procs)} processes in {d}): is a "
                        "container of the same id running under another --root? Set "
                        "linux.cgroupsPath to tell them apart")
                time.sleep(0.01)

    def _makedirs(self, controller: str, d: str) -> None:
        parent = os.path.dirname(d)
        if not os.path.isdir(parent):
            self._makedirs(controller, parent)
        with contextlib.suppress(FileExistsError):
            os.mkdir(d)
        if controller == "cpuset":  # a v1 cpuset starts empty: take the parent's
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not _read(os.path.join(d, name)):
                    _write(os.path.join(d, name), _read(os.path.join(parent, name)))
        if controller == "unified":
            with contextlib.suppress(OSError):
                wanted = {"memory", "cpu", "cpuset", "pids"} & set(
                    _read(os.path.join(parent, "cgroup.controllers")).split())
                _write(os.path.join(parent, "cgroup.subtree_control"),
                       " ".join("+" + c for c in sorted(wanted)))

    def join_self(self) -> None:
        """Move the calling process, which must have a single thread, in.

        On v1 it writes "0" to each hierarchy's `tasks`: moving only the
        caller's own thread skips the global threadgroup lock, whose first
        writer waits for an RCU grace period (0.45 ms here against 8-20 ms
        for a pid written to `cgroup.procs`; a `create` paid it every time).
        With one thread, that thread is the whole process. v2 refuses a
        thread move across domains, so there it writes "0" to `cgroup.procs`
        and pays the wait."""
        threads = os.listdir("/proc/self/task")
        if len(threads) != 1:
            raise CgroupError(f"joining the cgroup with {len(threads)} threads would "
                              "leave all but one outside it")
        name = "cgroup.procs" if self.v2 else "tasks"
        for d in self.dirs().values():
            _write(os.path.join(d, name), "0")

    def oom_events_path(self) -> str:
        """The file whose `oom_kill` line counts what the memory limit killed."""
        d = self.dirs()
        if self.v2:
            return os.path.join(d["unified"], "memory.events")
        return os.path.join(d["memory"], "memory.oom_control")

    @staticmethod
    def oom_kills(fd: int) -> int:
        """Processes the memory limit killed, from an fd of oom_events_path()."""
        for line in os.pread(fd, 4096, 0).decode().splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill":
                return int(value)
        return 0

    def apply(self, limits: SandboxLimits, settings=None) -> None:
        """Write the limits, and `settings` (oci.spec.CgroupSettings: values
        only the cgroup enforces) as given; a value the kernel refuses is an
        error naming it."""
        if self.v2:
            self._apply_v2(limits, settings)
        else:
            self._apply_v1(limits, settings)
        if settings is not None and settings.other:
            self._apply_other(settings.other)

    def _apply_other(self, other: dict) -> None:
        """linux.resources.{blockIO,network,hugepageLimits,rdma,unified}: each
        value to its controller's file, or a create error like runc's when
        the host lacks the controller or the file."""
        dirs = self.dirs()
        for controller, candidates in (_other_writes_v2 if self.v2 else _other_writes_v1)(other):
            d = dirs.get("unified" if self.v2 else controller)
            if d is None and os.path.isdir(os.path.join(CGROUP_ROOT, controller)):
                d = dirs[controller] = os.path.join(CGROUP_ROOT, controller, self.path.lstrip("/"))
                self._makedirs(controller, d)
            if d is None:
                raise CgroupError(f"cannot set {controller} limit: container could not join or "
                                  f"create cgroup (the host has no {controller} controller)")
            name, value = next(((n, v) for n, v in candidates
                                if os.path.exists(os.path.join(d, n))), candidates[-1])
            _set(d, name, value)

    def _apply_v1(self, limits: SandboxLimits, settings) -> None:
        d = self.dirs()
        if "memory" in d:
            if limits.memory_bytes is not None:
                _set(d["memory"], "memory.limit_in_bytes", limits.memory_bytes)
                memsw = os.path.join(d["memory"], "memory.memsw.limit_in_bytes")
                if limits.swap_bytes is not None and os.path.exists(memsw):
                    _set(d["memory"], "memory.memsw.limit_in_bytes",
                         limits.memory_bytes + limits.swap_bytes)
            if settings is not None:
                _set_given(d["memory"], "memory.soft_limit_in_bytes", settings.reservation)
                _set_given(d["memory"], "memory.swappiness", settings.swappiness)
                if settings.disable_oom_killer is not None:
                    _set(d["memory"], "memory.oom_control", int(settings.disable_oom_killer))
        if "cpu" in d and settings is not None:
            _set_given(d["cpu"], "cpu.cfs_period_us", settings.period)   # (before the quota)
            _set_given(d["cpu"], "cpu.cfs_quota_us", settings.quota)
            _set_given(d["cpu"], "cpu.shares", settings.shares)
        if limits.cpuset is not None and "cpuset" in d:
            _set(d["cpuset"], "cpuset.cpus", ",".join(map(str, limits.cpuset)))
        if limits.pids is not None and "pids" in d:
            _set(d["pids"], "pids.max", limits.pids)

    def _apply_v2(self, limits: SandboxLimits, settings) -> None:
        d = self.dirs()["unified"]
        if limits.memory_bytes is not None:
            _set(d, "memory.max", limits.memory_bytes)
            if limits.swap_bytes is not None:
                _set(d, "memory.swap.max", limits.swap_bytes)
        if settings is not None:
            if settings.quota is not None or settings.period is not None:
                quota = "max" if settings.quota is None or settings.quota < 0 else settings.quota
                _set(d, "cpu.max", f"{quota} {settings.period or 100000}")
            if settings.shares:
                _set(d, "cpu.weight", 1 + ((settings.shares - 2) * 9999) // 262142)
            _set_given(d, "memory.low", settings.reservation)
        if limits.cpuset is not None:
            _set(d, "cpuset.cpus", ",".join(map(str, limits.cpuset)))
        if limits.pids is not None:
            _set(d, "pids.max", limits.pids)

    # -- freezer -----------------------------------------------------------

    def freeze(self, frozen: bool) -> None:
        d = self.dirs()
        if self.v2:
            _set(d["unified"], "cgroup.freeze", 1 if frozen else 0)
            return
        if "freezer" not in d:
            raise CgroupError("this host has no freezer cgroup: pause is not possible")
        _set(d["freezer"], "freezer.state", "FROZEN" if frozen else "THAWED")
        want = "FROZEN" if frozen else "THAWED"
        for _ in range(200):  # FREEZING settles quickly for a handful of tasks
            if _read(os.path.join(d["freezer"], "freezer.state")) == want:
                return
            time.sleep(0.005)
        raise CgroupError(f"the sandbox's cgroup did not become {want}")

    # -- stats ---------------------------------------------------------------

    def stats(self) -> dict:
        d = self.dirs()
        if self.v2:
            u = d["unified"]
            cpu = {k: int(v) for k, v in (line.split() for line in
                                          _read(os.path.join(u, "cpu.stat")).splitlines())}
            return _stats(cpu.get("usage_usec", 0) * 1000, _int(u, "memory.current"),
                          _int(u, "memory.max"), _int(u, "pids.current"), _int(u, "pids.max"))
        return _stats(_int(d.get("cpuacct", ""), "cpuacct.usage"),
                      _int(d.get("memory", ""), "memory.usage_in_bytes"),
                      _int(d.get("memory", ""), "memory.limit_in_bytes"),
                      _int(d.get("pids", ""), "pids.current"), _int(d.get("pids", ""), "pids.max"))

    def memory_limit(self) -> int:
        d = self.dirs()
        if self.v2:
            return _int(d["unified"], "memory.max")
        return _int(d.get("memory", ""), "memory.limit_in_bytes")

    def procs(self) -> list[int]:
        d = next(iter(self.dirs().values()))
        return [int(p) for p in _read(os.path.join(d, "cgroup.procs")).split()]

    def destroy(self) -> None:
        """Remove the leaf directories, killing what is left (the sandbox is gone)."""
        deadline = time.monotonic() + 1.0
        for d in self.dirs().values():
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        break
                    for pid in _read(os.path.join(d, "cgroup.procs")).split():
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(int(pid), 9)
                    time.sleep(0.001)   # a killed task leaves within a millisecond or two


def _device(dev: dict) -> str:
    return f"{int(dev['major'])}:{int(dev['minor'])}"


def _other_writes_v1(other: dict):
    """(controller, [(file, value)...]: the first file the host has) per write."""
    if other.get("unified"):
        raise CgroupError("linux.resources.unified needs cgroup v2; this host's hierarchy is v1")
    io = other.get("blockIO") or {}
    if io.get("weight"):
        yield "blkio", [("blkio.bfq.weight", str(io["weight"])), ("blkio.weight", str(io["weight"]))]
    if io.get("leafWeight"):
        yield "blkio", [("blkio.leaf_weight", str(io["leafWeight"]))]
    for dev in io.get("weightDevice") or []:
        if dev.get("weight"):
            line = f"{_device(dev)} {dev['weight']}"
            yield "blkio", [("blkio.bfq.weight_device", line), ("blkio.weight_device", line)]
    for key, (name, _) in THROTTLES.items():
        for dev in io.get(key) or []:
            yield "blkio", [(f"blkio.throttle.{name}_device", f"{_device(dev)} {dev['rate']}")]
    network = other.get("network") or {}
    if network.get("classID") is not None:
        yield "net_cls", [("net_cls.classid", str(network["classID"]))]
    for prio in network.get("priorities") or []:
        yield "net_prio", [("net_prio.ifpriomap", f"{prio['name']} {prio['priority']}")]
    for page in other.get("hugepageLimits") or []:
        yield "hugetlb", [(f"hugetlb.{page['pageSize']}.limit_in_bytes", str(page["limit"]))]
    yield from _rdma(other)


def _other_writes_v2(other: dict):
    io = other.get("blockIO") or {}
    if io.get("weight"):
        yield "io", [("io.bfq.weight", str(io["weight"])), ("io.weight", f"default {io['weight']}")]
    for key, (_, v2_key) in THROTTLES.items():
        for dev in io.get(key) or []:
            yield "io", [("io.max", f"{_device(dev)} {v2_key}={dev['rate']}")]
    if other.get("network"):
        raise CgroupError("linux.resources.network: net_cls and net_prio have no cgroup v2 "
                          "controller")
    for page in other.get("hugepageLimits") or []:
        yield "hugetlb", [(f"hugetlb.{page['pageSize']}.max", str(page["limit"]))]
    yield from _rdma(other)
    for name, value in (other.get("unified") or {}).items():
        if "/" in name or name.startswith("."):
            raise CgroupError(f"linux.resources.unified: {name!r} is not a cgroup file")
        yield name.split(".")[0], [(name, str(value))]


def _rdma(other: dict):
    for device, limit in (other.get("rdma") or {}).items():
        parts = [f"{k}={limit[key]}" for key, k in (("hcaHandles", "hca_handle"),
                                                    ("hcaObjects", "hca_object"))
                 if limit.get(key) is not None]
        yield "rdma", [("rdma.max", " ".join([device, *parts]))]


def _stats(cpu_ns: int, mem: int, mem_limit: int, pids: int, pids_limit: int) -> dict:
    return {"cpu": {"usage": {"total": cpu_ns}},
            "memory": {"usage": {"usage": mem, "limit": mem_limit}},
            "pids": {"current": pids, "limit": pids_limit}}


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _int(d: str, name: str) -> int:
    text = _read(os.path.join(d, name)) if d else ""
    try:
        return int(text)
    except ValueError:
        return 0  # "max", or missing


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _set_given(d: str, name: str, value) -> None:
    if value is not None:
        _set(d, name, value)


def _set(d: str, name: str, value) -> None:
    try:
        _write(os.path.join(d, name), str(value))
    except OSError as exc:
        raise CgroupError(f"cannot set {name}={value} in {d}: {exc.strerror}") from None
