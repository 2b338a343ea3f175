"""`runsc-py ps [--format table|json] ID`: the container's processes, by host pid."""
from __future__ import annotations

import json

from runsc_py.oci.state import Container
from runsc_py.sandbox import control


def container_pids(c: Container) -> list[int]:
    status = c.status()
    if status in ("stopped", "creating"):
        return []
    if status == "paused":   # the sentry is frozen: ask the cgroup, less the sentry and gofer
        from runsc_py.oci import cgroup as cgroups

        procs = cgroups.Cgroup(c.record["cgroup"]).procs()
        return [p for p in procs if _is_workload(p, c.pid)]
    return control.request(c.control_path, "ps")["pids"]


def _is_workload(pid: int, sentry: int) -> bool:
    """The sentry's children are the gofer and init; init is traced by the sentry."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"TracerPid:"):
                    return int(line.split()[1]) == sentry
    except OSError:
        pass
    return False


def run_ps(args, log) -> int:
    with Container.open(args.root, args.id) as c:
        pids = container_pids(c)
    if args.format == "json":
        print(json.dumps(pids))
        return 0
    print("PID CMD")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            cmd = "?"
        print(f"{pid} {cmd}")
    return 0
