#!/usr/bin/env python3
"""Real programs: native vs runsc-py (both platforms) vs runsc (gVisor) vs sandlock.

    python3 bench/programs.py [--reps N] [--only NAME,...] [--runtimes NAMES]
                              [--json FILE] [--plot FILE.png]

Each row is one whole command, start-up included, timed from outside
(wall clock, the median of --reps runs, runtimes taken round-robin so a
drift of the machine's speed hits them alike). The rows are issue 16's:
directory walks, a grep over a tree, git, a compile, a fork+exec loop, an
interpreter's start, and an empty command (the cold start). Ratios are
against native in the same run. runsc-py runs `do` (the host root under
its memory overlay); runsc runs `do` too; sandlock runs through its Python
SDK in this process (its figure has no interpreter start), with the root
readable and the scratch directory writable.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
GIT = ("git init -q r && cd r && for i in $(seq 200); do echo $i > f$i; done && git add . && "
       "git -c user.email=b@e -c user.name=bench commit -qm files")
FORK_EXEC = "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done"

# name: (shell command, run in a fresh scratch directory holding hello.c)
PROGRAMS = {
    "find": "find /usr/lib -type f | wc -l",
    "du": "du -s /usr/share",
    "grep -r": "grep -r zzqq /usr/include; true",
    "git": GIT,
    "gcc": "TMPDIR=$PWD gcc -o hello hello.c && ./hello",   # (sandlock may write only here)
    "fork+exec x200": FORK_EXEC,
    "python3 import": "python3 -c 'import json, os, subprocess'",
    "cold start": "true",
}
SHELL = ["/bin/sh", "-c"]


def runtimes() -> dict[str, list[str] | None]:
    """The argv prefix of each runtime (None: sandlock, through its SDK)."""
    return {
        "native": [],
        "runsc-py seccomp": ["runsc-py", "do", "--platform=seccomp", "--"],
        "runsc-py ptrace": ["runsc-py", "do", "--platform=ptrace", "--"],
        "runsc (gVisor)": ["runsc", "--network=none", "do", "--"],
        "sandlock": None,
    }


def available(name: str, prefix: list[str] | None) -> bool:
    if prefix is None:
        try:
            import sandlock  # noqa: F401
        except ImportError:
            return False
        return True
    return not prefix or shutil.which(prefix[0]) is not None


def scratch() -> str:
    """A fresh directory for one run, holding hello.c (under /tmp, which every
    runtime's root shows)."""
    d = tempfile.mkdtemp(prefix="bench-programs-")
    with open(os.path.join(d, "hello.c"), "w") as f:
        f.write(HELLO)
    os.chmod(d, 0o777)
    return d


def timed(prefix: list[str] | None, command: str) -> float | None:
    """Seconds one run of `command` took, or None if it failed."""
    where = scratch()
    try:
        if prefix is None:
            return _timed_sandlock(command, where)
        start = time.perf_counter()
        done = subprocess.run([*prefix, *SHELL, command], cwd=where, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=600)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.stderr.write(f"{prefix[:2]} {command!r}: exit {done.returncode}: "
                             f"{done.stderr.decode(errors='replace')[-300:]}\n")
            return None
        return elapsed
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _timed_sandlock(command: str, where: str) -> float | None:
    import sandlock

    box = sandlock.Sandbox(fs_readable=["/"], fs_writable=[where, "/dev/null"], cwd=where)
    start = time.perf_counter()
    result = box.run([*SHELL, command], timeout=600)
    elapsed = time.perf_counter() - start
    if result.exit_code != 0:
        sys.stderr.write(f"sandlock {command!r}: exit {result.exit_code}: {result.error}\n")
        return None
    return elapsed


def measure(names: list[str], chosen: dict[str, list[str] | None], reps: int) -> dict:
    """{program: {runtime: median seconds or None}}, round-robin over runtimes."""
    times: dict[str, dict[str, list[float | None]]] = {n: {r: [] for r in chosen} for n in names}
    for _ in range(reps):
        for name in names:
            for runtime, prefix in chosen.items():
                times[name][runtime].append(timed(prefix, PROGRAMS[name]))
    return {name: {runtime: (statistics.median(t) if t and None not in t else None)
                   for runtime, t in row.items()} for name, row in times.items()}


def cell(value: float | None, native: float | None) -> str:
    if value is None:
        return "failed"
    text = f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"
    if native and value is not native:
        text += f" (×{value / native:.1f})"
    return text


def table(results: dict, columns: list[str]) -> str:
    lines = ["| program | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in results.items():
        native = row.get("native")
        cells = [cell(row[c], native if c != "native" else None) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict, columns: list[str], path: str) -> None:
    """Each program's time as a multiple of native, one bar per runtime (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [c for c in columns if c != "native"]
    names = [n for n in results if results[n].get("native")]
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / max(len(others), 1)
    for i, runtime in enumerate(others):
        ratios = [(results[n][runtime] or 0) / results[n]["native"] for n in names]
        ax.bar([x + i * width for x in range(len(names))], ratios, width, label=runtime)
    ax.set_xticks([x + width * (len(others) - 1) / 2 for x in range(len(names))], names,
                  rotation=20)
    ax.set_yscale("log")
    ax.set_ylabel("time / native (log)")
    ax.axhline(1, color="black", linewidth=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Real programs, whole command including start-up")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", help="programs, comma-separated: " + ", ".join(PROGRAMS))
    ap.add_argument("--runtimes", help="runtimes, comma-separated: " + ", ".join(runtimes()))
    ap.add_argument("--also", metavar="NAME=COMMAND", action="append", default=[],
                    help="another runtime: its argv prefix, split on spaces (e.g. another "
                         "build's launcher: 'before=/tmp/runsc-py-old do --')")
    ap.add_argument("--json", metavar="FILE", help="also write the medians as JSON")
    ap.add_argument("--plot", metavar="PNG", help="draw the ratios (needs matplotlib)")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(PROGRAMS)
    wanted = args.runtimes.split(",") if args.runtimes else list(runtimes())
    chosen = {r: p for r, p in runtimes().items() if r in wanted and available(r, p)}
    chosen.update(dict((name, command.split()) for name, command in
                       (also.split("=", 1) for also in args.also)))
    results = measure(names, chosen, args.reps)
    print(table(results, list(chosen)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        plot(results, list(chosen), args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
