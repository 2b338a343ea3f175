#!/usr/bin/env python3
"""Cold `run` of a busybox `true` container, create through delete: runsc-py vs runc vs runsc.

    python3 bench/oci.py [--runs N] [--json FILE] [--runsc-py PATH]

Each runtime gets the same bundle (a busybox rootfs built here and the
config from `runsc-py spec`, with `args: ["true"]`) and its own state root.
A run is one `RUNTIME --root R run --bundle B ID` (runc's and runsc's `run`
also create, start, wait and delete). Runs go round-robin over the
runtimes. The figures are the median and minimum wall time, and the
median CPU time (user + system of the run and every process it waited
for, from `wait4`: less noisy on a shared machine; it misses processes
a runtime does not reap itself).
runsc-py is the installed executable, as engines run it: the launcher
setup.sh writes where pip puts scripts (`--runsc-py` to time another).
Debian's runsc needs `--network=none` (no host networking set-up);
runc and runsc are skipped when not installed.
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
import sysconfig
import tempfile
import time

APPLETS = ("sh", "true")


def make_bundle(directory: pathlib.Path, runsc_py: str) -> pathlib.Path:
    rootfs = directory / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy(shutil.which("busybox"), rootfs / "bin" / "busybox")
    for applet in APPLETS:
        os.symlink("busybox", rootfs / "bin" / applet)
    for d in ("proc", "dev", "sys", "tmp"):
        (rootfs / d).mkdir()
    subprocess.run([runsc_py, "spec", "--bundle", str(directory)], check=True)
    doc = json.loads((directory / "config.json").read_text())
    doc["process"]["args"] = ["true"]
    (directory / "config.json").write_text(json.dumps(doc))
    return directory


def runtimes(runsc_py: str) -> dict[str, list[str]]:
    found = {"runsc-py": [runsc_py]}
    if shutil.which("runc"):
        found["runc"] = ["runc"]
    if shutil.which("runsc"):
        found["runsc"] = ["runsc", "--network=none"]
    return found


def time_run(argv: list[str], bundle: pathlib.Path, root: pathlib.Path,
             cid: str) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    cmd = argv + ["--root", str(root), "run", "--bundle", str(bundle), cid]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read().decode()[-500:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", default=None)
    parser.add_argument("--runsc-py", default=os.path.join(sysconfig.get_path("scripts"), "runsc-py"),
                        help="the runsc-py executable to time (default: the installed one)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="runsc-py-bench-oci") as tmp:
        bundle = make_bundle(pathlib.Path(tmp) / "bundle", args.runsc_py)
        print(f"runsc-py: {args.runsc_py}")
        print(f"{'runtime':<10} {'median ms':>10} {'min ms':>8} {'cpu ms':>8}   "
              f"(cold run of busybox true, {args.runs} runs)")
        # Round-robin, so a busy moment of a shared machine hits every runtime alike.
        walls: dict[str, list[float]] = {name: [] for name in runtimes(args.runsc_py)}
        cpus: dict[str, list[float]] = {name: [] for name in walls}
        failed: dict[str, str] = {}
        for i in range(args.runs):
            for name, argv in runtimes(args.runsc_py).items():
                if name in failed:
                    continue
                try:
                    wall, cpu = time_run(argv, bundle, pathlib.Path(tmp) / f"state-{name}", f"b{i}")
                except RuntimeError as exc:
                    failed[name] = str(exc)
                    continue
                walls[name].append(wall)
                cpus[name].append(cpu)
        for name in walls:
            if name in failed:
                print(f"{name:<10} failed: {failed[name]}")
                continue
            results[name] = {"median_ms": statistics.median(walls[name]) * 1000,
                             "min_ms": min(walls[name]) * 1000,
                             "cpu_median_ms": statistics.median(cpus[name]) * 1000}
            r = results[name]
            print(f"{name:<10} {r['median_ms']:>10.1f} {r['min_ms']:>8.1f} {r['cpu_median_ms']:>8.1f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
