#!/usr/bin/env python3
"""Micro-benchmarks: native vs runsc-py (both platforms) vs runsc (gVisor), side by side.

    python3 bench/run.py [--quick] [--only NAME,...] [--runtimes NAMES] [--cpu-pin] [--json FILE]

Each benchmark is one C program timing its own loop (bench/src/micro.c), so
a runtime's start-up cost is not in the per-operation figures; start-up is
measured on its own ("cold start"). Every figure is the median of several
runs. Ratios are against native on the same machine, in the same run.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

BENCH = pathlib.Path(__file__).resolve().parent
BUILD = BENCH / "build"
CHUNK_MIB = 64 / 1024  # the pipe benchmark moves 64 KiB per operation

# name: (iterations, quick iterations, what it shows)
BENCHMARKS = {
    "getppid": (20000, 2000, "a trapped call answered by the C fast path"),
    "uname": (20000, 2000, "a trapped call answered in Python"),
    "stat": (10000, 1000, "path resolution in the sentry (dentry cache)"),
    "stat_relative": (10000, 1000, "the same, by a path relative to the cwd (git, make, ls)"),
    "open_read_close": (5000, 500, "open through the gofer, fd installed by ADDFD, native read"),
    "pipe": (4000, 400, "native data path on a sentry-made pipe (64 KiB chunks)"),
    "fork": (300, 40, "fork + exit + wait: ptrace lifecycle events"),
    "fork_exec": (200, 30, "fork + exec of /bin/true: exec rewritten to execveat(fd)"),
    "threads_getppid": (20000, 2000, "4 threads making trapped calls at once"),
}


def runtimes(pin: bool) -> dict[str, list[str]]:
    pin_flag = ["--cpu-pin=on"] if pin else []
    return {
        "native": [],
        "runsc-py seccomp": ["runsc-py", "do", "--platform=seccomp", *pin_flag, "--"],
        "runsc-py ptrace": ["runsc-py", "do", "--platform=ptrace", *pin_flag, "--"],
        "runsc (gVisor)": ["runsc", "--network=none", "do"],
    }


def build() -> dict[str, str]:
    """Compile the C programs once (again only when a source is newer)."""
    BUILD.mkdir(exist_ok=True)
    out = {}
    for name, libs in (("micro", ["-pthread"]), ("notify_floor", ["-lseccomp"])):
        src, exe = BENCH / "src" / f"{name}.c", BUILD / name
        if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
            subprocess.run(["gcc", "-O2", "-o", str(exe), str(src), *libs], check=True)
        out[name] = str(exe)
    return out


def run_json(argv: list[str], timeout: float = 300) -> dict | None:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        return None
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return None


def median_ns(prefix: list[str], argv: list[str], reps: int) -> float | None:
    values = []
    for _ in range(reps):
        result = run_json(prefix + argv)
        if result is None:
            return None
        values.append(result["ns_per_op"])
    return statistics.median(values)


def wall_seconds(argv: list[str], reps: int) -> float | None:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, timeout=120)
        if proc.returncode != 0:
            return None
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def available(prefix: list[str]) -> bool:
    return not prefix or shutil.which(prefix[0]) is not None


def fmt_time(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.2f} µs"


def cell(value: float | None, native: float | None, kind: str) -> str:
    if value is None:
        return "fail"
    if kind == "throughput":
        mibs = CHUNK_MIB / (value / 1e9)
        return f"{mibs:,.0f} MiB/s" + (f" ({native / value:.2f}× native)" if native else "")
    if kind == "seconds":
        text = f"{value * 1e3:.0f} ms"
    else:
        text = fmt_time(value)
    return text + (f" (×{value / native:.1f})" if native else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, one repetition")
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--runtimes", help="comma-separated runtime columns to run")
    parser.add_argument("--cpu-pin", action="store_true", help="run runsc-py with --cpu-pin=on")
    parser.add_argument("--json", help="also write the raw figures to this file")
    args = parser.parse_args()

    exes = build()
    columns = runtimes(args.cpu_pin)
    if args.runtimes:
        wanted = args.runtimes.split(",")
        columns = {k: v for k, v in columns.items() if k == "native" or k in wanted}
    columns = {k: v for k, v in columns.items() if available(v)}
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    reps = 1 if args.quick else 3
    raw: dict[str, dict[str, float | None]] = {}

    for name in names:
        iters = BENCHMARKS[name][1 if args.quick else 0]
        raw[name] = {col: median_ns(prefix, [exes["micro"], name, str(iters)], reps)
                     for col, prefix in columns.items()}
        print(f"  measured {name}", file=sys.stderr)
    python = shutil.which("python3", path="/usr/bin") or sys.executable
    starts = {"cold start: `true`": ["/bin/true"],
              "`python3 -c 'import json,os,subprocess'`": [python, "-c", "import json,os,subprocess"]}
    for label, argv in starts.items():
        raw[label] = {col: wall_seconds(prefix + argv, 3 if args.quick else 5)
                      for col, prefix in columns.items()}
        print(f"  measured {label}", file=sys.stderr)
    floor = run_json([exes["notify_floor"], "0", "1", "0", "0", "1"])

    print_table(raw, list(columns), floor)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"figures": raw, "floor": floor}, indent=2))
    return 0


def print_table(raw: dict, columns: list[str], floor: dict | None) -> None:
    print("| benchmark | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, figures in raw.items():
        kind = "throughput" if name == "pipe" else "seconds" if name not in BENCHMARKS else "time"
        native = figures.get("native")
        cells = [cell(figures[c], None if c == "native" else native, kind) for c in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if floor:
        print(f"\nFloor on this machine: a C supervisor answering getppid through seccomp "
              f"user-notify (sleeping in NOTIF_RECV, ptrace attached, same CPU) takes "
              f"{fmt_time(floor['ns_per_op'])}.")


if __name__ == "__main__":
    sys.exit(main())
