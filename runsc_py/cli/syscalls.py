"""`runsc-py syscalls`: the syscall table, like `runsc help syscalls`."""
from __future__ import annotations

import csv
import json
import sys

from runsc_py.syscalls.table import TABLE

FIELDS = ("nr", "name", "support", "policy", "note")


def rows() -> list[dict]:
    return [{"nr": s.nr, "name": s.name, "support": s.support, "policy": s.policy.value,
             "note": s.note} for s in TABLE.listing()]


def print_table(fmt: str) -> int:
    data = rows()
    if fmt == "json":
        json.dump(data, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(data)
    else:
        for r in data:
            print(f"{r['nr']:>4}  {r['name']:<24} {r['support']:<14} {r['note']}")
    return 0
