"""`--report`: what the workload asked for that the sentry does not implement."""
from __future__ import annotations

import collections
import json


class CompatReport:
    def __init__(self, table):
        self.table = table
        self.counts: collections.Counter[int] = collections.Counter()

    def unimplemented(self, nr: int) -> None:
        self.counts[nr] += 1

    def as_dict(self) -> dict:
        rows = []
        for nr, count in sorted(self.counts.items()):
            entry = self.table.entry(nr)
            rows.append({"nr": nr, "name": self.table.name(nr), "count": count,
                         "note": entry.note if entry else ""})
        return {"unimplemented": rows, "total_calls": sum(self.counts.values())}

    def text(self) -> str:
        data = self.as_dict()
        if not data["unimplemented"]:
            return "runsc-py report: every syscall the workload made is implemented\n"
        lines = [f"runsc-py report: {len(data['unimplemented'])} unimplemented syscalls "
                 f"({data['total_calls']} calls), each answered ENOSYS:"]
        for row in data["unimplemented"]:
            note = f"  [{row['note']}]" if row["note"] else ""
            lines.append(f"  {row['name']:<20} nr {row['nr']:<4} x{row['count']}{note}")
        return "\n".join(lines) + "\n"

    def json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"
