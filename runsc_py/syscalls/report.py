"""`--report`: what the workload asked for that the sentry does not implement,
the failures `--inject` answered, and (in JSON) which calls the C fast path
answered without entering Python."""
from __future__ import annotations

import collections
import json


class CompatReport:
    def __init__(self, table):
        self.table = table
        self.counts: collections.Counter[int] = collections.Counter()
        self.answered_in_c: dict[int, int] = {}  # nr -> calls the C loop answered itself
        self.wait_status: int | None = None      # init's, as wait(2) gives it (JSON only)
        self.oom_kills = 0                       # processes the sandbox's memory limit killed
        self.faults = None                       # --inject's rules (syscalls/faults.py)

    def unimplemented(self, nr: int) -> None:
        self.counts[nr] += 1

    def count_fast_path(self, platform) -> None:
        """Read the C loop's counters, at the end of the run."""
        self.answered_in_c = {nr: n for nr in self.table.rows if (n := platform.fast_path_count(nr))}

    def as_dict(self) -> dict:
        rows = []
        for nr, count in sorted(self.counts.items()):
            entry = self.table.entry(nr)
            rows.append({"nr": nr, "name": self.table.name(nr), "count": count,
                         "note": entry.note if entry else ""})
        fast = [{"nr": nr, "name": self.table.name(nr), "count": n}
                for nr, n in sorted(self.answered_in_c.items())]
        return {"unimplemented": rows, "total_calls": sum(self.counts.values()),
                "answered_in_c": fast, "wait_status": self.wait_status,
                "oom_kills": self.oom_kills,
                "injected": self.faults.counts() if self.faults is not None else []}

    def text(self) -> str:
        data = self.as_dict()
        if not data["unimplemented"]:
            lines = ["runsc-py report: every syscall the workload made is implemented"]
        else:
            lines = [f"runsc-py report: {len(data['unimplemented'])} unimplemented syscalls "
                     f"({data['total_calls']} calls), each answered ENOSYS:"]
        for row in data["unimplemented"]:
            note = f"  [{row['note']}]" if row["note"] else ""
            lines.append(f"  {row['name']:<20} nr {row['nr']:<4} x{row['count']}{note}")
        for row in data["injected"]:
            lines.append(f"runsc-py report: --inject {row['rule']}: {row['injected']} calls failed")
        return "\n".join(lines) + "\n"

    def json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"
