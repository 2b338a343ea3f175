"""`runsc-py update --resources FILE|- ID`: new linux.resources for a running sandbox."""
from __future__ import annotations

import json
import sys

from runsc_py.oci import cgroup as cgroups
from runsc_py.oci.spec import SpecError, resources
from runsc_py.oci.state import Container, ContainerError
from runsc_py.sandbox import control


def run_update(args, log) -> int:
    if not args.resources:
        raise ContainerError("update needs --resources FILE (or - for stdin)")
    text = sys.stdin.read() if args.resources == "-" else open(args.resources).read()
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SpecError(f"--resources is not valid JSON: {exc}")
    limits, settings = resources(doc if isinstance(doc, dict) else {})
    with Container.open(args.root, args.id) as c:
        status = c.status()
        if status not in ("created", "running"):
            raise ContainerError(f"cannot update container {c.id}: it is {status}")
        cgroups.Cgroup(c.record["cgroup"]).apply(limits, settings)
        changed = {k: v for k, v in limits.as_dict().items() if v is not None}
        control.request(c.control_path, "update", limits=changed)
    return 0
