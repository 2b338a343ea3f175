"""`runsc-py pause ID` / `resume ID`: freeze the whole sandbox's cgroup.

The sentry is frozen with its workload, so nothing about a paused
container goes through the control socket.
"""
from __future__ import annotations

from runsc_py.oci import cgroup as cgroups
from runsc_py.oci.state import Container, ContainerError


def thaw(c: Container) -> None:
    cgroups.Cgroup(c.record["cgroup"]).freeze(False)


def run_pause(args, log) -> int:
    with Container.open(args.root, args.id) as c:
        if c.status() != "running":
            raise ContainerError(f"cannot pause container {c.id}: it is {c.status()}")
        cgroups.Cgroup(c.record["cgroup"]).freeze(True)
        c.record["status"] = "paused"
        c.save()
    return 0


def run_resume(args, log) -> int:
    with Container.open(args.root, args.id) as c:
        if c.status() != "paused":
            raise ContainerError(f"cannot resume container {c.id}: it is {c.status()}, not paused")
        thaw(c)
        c.record["status"] = "running"
        c.save()
    return 0
