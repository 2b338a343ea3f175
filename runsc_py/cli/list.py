"""`runsc-py list [--format table|json]`."""
from __future__ import annotations

import json

from runsc_py.oci.state import Container, ContainerError, list_ids


def run_list(args, log) -> int:
    states = []
    for cid in list_ids(args.root):
        try:
            with Container.open(args.root, cid) as c:
                states.append(c.oci_state())
        except ContainerError:
            continue   # deleted while we listed
    if args.quiet:
        for s in states:
            print(s["id"])
    elif args.format == "json":
        print(json.dumps(states))
    else:
        print(f"{'ID':<20} {'PID':<8} {'STATUS':<10} {'BUNDLE':<40} CREATED")
        for s in states:
            print(f"{s['id']:<20} {s['pid']:<8} {s['status']:<10} {s['bundle']:<40} {s['created']}")
    return 0
