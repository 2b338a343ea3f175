#!/usr/bin/env python3
"""Cold `run` of a busybox `true` container, create through delete: runsc-py vs runc vs runsc.

    python3 bench/oci.py [--runs N] [--json FILE]

Each runtime gets the same bundle (a busybox rootfs built here and the
config from `runsc-py spec`, with `args: ["true"]`) and its own state root.
A run is one `RUNTIME --root R run --bundle B ID` (runc's and runsc's `run`
also create, start, wait and delete). The figure is the median wall time.
Debian's runsc needs `--network=none` (no host networking set-up) and is
given `--rootless=false`; runc and runsc are skipped when not installed.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
APPLETS = ("sh", "true")


def make_bundle(directory: pathlib.Path) -> pathlib.Path:
    rootfs = directory / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy(shutil.which("busybox"), rootfs / "bin" / "busybox")
    for applet in APPLETS:
        os.symlink("busybox", rootfs / "bin" / applet)
    for d in ("proc", "dev", "sys", "tmp"):
        (rootfs / d).mkdir()
    subprocess.run([sys.executable, "-m", "runsc_py.cli.main", "spec", "--bundle", str(directory)],
                   check=True, cwd=REPO)
    doc = json.loads((directory / "config.json").read_text())
    doc["process"]["args"] = ["true"]
    (directory / "config.json").write_text(json.dumps(doc))
    return directory


def runtimes() -> dict[str, list[str]]:
    found = {"runsc-py": [sys.executable, "-m", "runsc_py.cli.main"]}
    if shutil.which("runc"):
        found["runc"] = ["runc"]
    if shutil.which("runsc"):
        found["runsc"] = ["runsc", "--network=none"]
    return found


def time_runs(argv: list[str], bundle: pathlib.Path, root: pathlib.Path, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        cmd = argv[:1] + argv[1:] + ["--root", str(root), "run", "--bundle", str(bundle), f"b{i}"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-500:]}")
        times.append(elapsed)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="runsc-py-bench-oci") as tmp:
        bundle = make_bundle(pathlib.Path(tmp) / "bundle")
        print(f"{'runtime':<10} {'median ms':>10} {'min ms':>8}   (cold run of busybox true, "
              f"{args.runs} runs)")
        for name, argv in runtimes().items():
            root = pathlib.Path(tmp) / f"state-{name}"
            try:
                times = time_runs(argv, bundle, root, args.runs)
            except RuntimeError as exc:
                print(f"{name:<10} failed: {exc}")
                continue
            results[name] = {"median_ms": statistics.median(times) * 1000,
                             "min_ms": min(times) * 1000}
            print(f"{name:<10} {results[name]['median_ms']:>10.1f} {results[name]['min_ms']:>8.1f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
