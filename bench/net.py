#!/usr/bin/env python3
"""Network benchmarks: native vs runsc-py (both platforms) vs runsc (gVisor, --network=none).

    python3 bench/net.py [--quick] [--runs N] [--json FILE]

  throughput  loopback TCP between two sandbox processes (64 KiB writes), MiB/s
  connect     connect + accept + close between two sandbox processes, per second
  http        small HTTP requests (new connection each) to http.server in the same
              sandbox, per second

Each workload times its own loop (bench/src/net.c, bench/src/net_http.py), so
start-up is not in the figures. Every figure is the median of --runs runs;
ratios are against native in the same run. runsc-py here is this checkout's
(python3 -m runsc_py.cli.main from the repository root).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import statistics
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
BUILD = BENCH / "build"
HIGHER_IS_BETTER = "higher is better"


def runtimes() -> dict[str, list[str]]:
    me = [sys.executable, "-m", "runsc_py.cli.main", "do"]
    out = {
        "native": [],
        "runsc-py seccomp": me + ["--platform=seccomp", "--"],
        "runsc-py ptrace": me + ["--platform=ptrace", "--"],
    }
    if shutil.which("runsc"):
        out["runsc (gVisor)"] = ["runsc", "--network=none", "do"]
    return out


def build() -> str:
    BUILD.mkdir(exist_ok=True)
    src, exe = BENCH / "src" / "net.c", BUILD / "net"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
    return str(exe)


def workloads(exe: str, quick: bool) -> dict[str, tuple[list[str], str]]:
    return {
        "throughput": ([exe, "throughput", "256" if quick else "2048"], "MiB/s"),
        "connect": ([exe, "connect", "300" if quick else "3000"], "conn/s"),
        "http": ([sys.executable, str(BENCH / "src" / "net_http.py"), "100" if quick else "1000"], "req/s"),
    }


def measure(prefix: list[str], argv: list[str], runs: int) -> float | None:
    figures = []
    for _ in range(runs):
        proc = subprocess.run(prefix + argv, capture_output=True, text=True, cwd=ROOT, timeout=600)
        numbers = [line for line in proc.stdout.split() if line.replace(".", "", 1).isdigit()]
        if proc.returncode != 0 or not numbers:
            sys.stderr.write(f"{prefix[:1] or ['native']} {argv[1]}: failed ({proc.returncode}): "
                             f"{proc.stderr.strip()[-300:]}\n")
            return None
        figures.append(float(numbers[-1]))
    return statistics.median(figures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    exe = build()
    results: dict[str, dict[str, float | None]] = {}
    for name, (argv, unit) in workloads(exe, args.quick).items():
        results[name] = {rt: measure(prefix, argv, args.runs) for rt, prefix in runtimes().items()}
        native = results[name]["native"]
        print(f"{name} ({unit}, {HIGHER_IS_BETTER})")
        for rt, value in results[name].items():
            if value is None:
                print(f"  {rt:18} failed")
                continue
            ratio = f"{value / native:5.2f}x native" if native else ""
            print(f"  {rt:18} {value:10.1f}  {ratio}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
