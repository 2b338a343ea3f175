"""`runsc-py events [--stats] [--interval D] ID`: resource usage, runc's shape."""
from __future__ import annotations

import json
import sys
import time

from runsc_py.oci import cgroup as cgroups
from runsc_py.oci.state import Container, ContainerError


def _stats(root: str, cid: str) -> dict | None:
    with Container.open(root, cid) as c:
        if c.status() == "stopped":
            return None
        data = cgroups.Cgroup(c.record["cgroup"]).stats()
    return {"type": "stats", "id": cid, "data": data}


def run_events(args, log) -> int:
    event = _stats(args.root, args.id)
    if event is None:
        raise ContainerError(f"container {args.id} is stopped")
    while True:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
        if args.stats:
            return 0
        time.sleep(_seconds(args.interval))
        try:
            event = _stats(args.root, args.id)
        except ContainerError:
            return 0
        if event is None:
            return 0


def _seconds(text: str) -> float:
    """A Go duration like 5s, 500ms, 1m."""
    for suffix, scale in (("ms", 0.001), ("s", 1), ("m", 60)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * scale
    raise ContainerError(f"--interval {text!r} is not a duration like 5s or 500ms")
