#!/usr/bin/env python3
"""File throughput on the sandbox's filesystems vs the host's tmpfs.

    python3 bench/fs.py [--mib N] [--reps N]

One C program (bench/src/fileio.c) writes a file in 1 MiB chunks, reads it
back and maps it, timing itself. Natively it runs in a directory on the
host's /dev/shm (tmpfs); in the sandbox on a tmpfs mount (--tmpfs) and on
the overlay root's upper layer (a new file under /tmp). The bytes always
move natively; what differs is the host object behind the file. Figures
are medians; ratios are against native in the same run.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

BENCH = pathlib.Path(__file__).resolve().parent
EXE = BENCH / "build" / "fileio"
FIELDS = ("write_mibs", "read_mibs", "mmap_mibs")


def build() -> str:
    src = BENCH / "src" / "fileio.c"
    EXE.parent.mkdir(exist_ok=True)
    if not EXE.exists() or EXE.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-o", str(EXE), str(src)], check=True)
    return str(EXE)


def measure(argv: list[str], reps: int) -> dict[str, float]:
    runs = []
    for _ in range(reps):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {f: statistics.median(r[f] for r in runs) for f in FIELDS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    exe = build()
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm, tempfile.TemporaryDirectory() as tmp:
        rows = {
            "native (host tmpfs)": measure([exe, shm, str(args.mib)], args.reps),
            "runsc-py tmpfs mount": measure(["runsc-py", "do", "--tmpfs", tmp, "--", exe, tmp, str(args.mib)], args.reps),
            "runsc-py overlay upper": measure(["runsc-py", "do", "--", exe, tmp, str(args.mib)], args.reps),
        }
    native = rows["native (host tmpfs)"]
    print("| where | write | read | mmap read |")
    print("|---|---|---|---|")
    for name, row in rows.items():
        cells = [f"{row[f]:,.0f} MiB/s" + ("" if row is native else f" ({row[f] / native[f]:.2f}×)")
                 for f in FIELDS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
