"""`runsc-py state ID`: the OCI state JSON."""
from __future__ import annotations

import json

from runsc_py.oci.state import Container


def run_state(args, log) -> int:
    with Container.open(args.root, args.id) as c:
        print(json.dumps(c.oci_state(), indent=2))
    return 0
