#!/usr/bin/env python3
"""Many containers at once under dockerd: runsc-py against runc.

    python3 bench/docker_many.py [--containers N] [--rounds R] [--json FILE]

A private dockerd (the engine tests' harness, tests/engines/daemons.py:
its own data root, no bridge, no iptables) gets both runtimes and the
busybox image the engine tests load. A round starts N `docker run -d
--network none IMG sleep 1000` at once (one thread each), times until
every one has returned, then measures the containers while they idle:
the PSS of every process in their cgroups (smaps_rollup; the sentry,
gofer and spawner for runsc-py, the shim is the engine's and not
counted), then removes them. Rounds alternate between the runtimes; the
figures are the median wall time of a round and the median PSS per
container. Runs as root on a machine with docker.io (./setup.sh).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.engines import daemons, images  # noqa: E402


def start_many(engine, runtime: str, n: int) -> tuple[float, list[str]]:
    ids: list[str] = [""] * n
    errors: list[str] = []

    def one(i: int) -> None:
        proc = engine.docker("run", "-d", "--runtime", runtime, "--network", "none",
                             engine.image, "sleep", "1000", check=False, timeout=300)
        if proc.returncode != 0:
            errors.append(proc.stderr.strip())
        ids[i] = proc.stdout.strip()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    if errors:
        raise RuntimeError(f"{runtime}: {errors[0]}")
    return wall, ids


def pss_kib(engine, ids: list[str]) -> float:
    """Mean PSS (KiB) per container: every process in its cgroup."""
    total = 0
    for cid in ids:
        pid = engine.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout.strip()
        cgroup = _memory_cgroup(int(pid))
        for proc in open(os.path.join(cgroup, "cgroup.procs")).read().split():
            try:
                with open(f"/proc/{proc}/smaps_rollup") as f:
                    total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            except (OSError, StopIteration):
                continue
    return total / len(ids)


def _memory_cgroup(pid: int) -> str:
    """The v1 memory cgroup's directory of `pid`, else its v2 one."""
    paths = dict(line.split(":", 2)[1:] for line in open(f"/proc/{pid}/cgroup").read().splitlines())
    if "memory" in paths:
        return f"/sys/fs/cgroup/memory{paths['memory']}"
    return f"/sys/fs/cgroup{paths['']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--containers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    runc = shutil.which("runc")
    if runc is None:
        sys.exit("runc is not installed")
    with tempfile.TemporaryDirectory(prefix="runsc-py-docker-many-") as tmp:
        tmp = pathlib.Path(tmp)
        leftovers = daemons.Leftovers()
        engine = daemons.Dockerd(tmp, daemons.runtime_wrapper(tmp))
        figures: dict[str, dict[str, list[float]]] = {
            r: {"wall_s": [], "pss_kib": []} for r in ("runsc-py", "runc")}
        try:
            engine.start()
            engine.image = "runsc-py-busybox:latest"
            engine.docker("load", "-i", images.docker_archive(str(tmp / "image.tar"),
                                                              engine.image))
            for _ in range(args.rounds):
                for runtime in figures:
                    wall, ids = start_many(engine, runtime, args.containers)
                    time.sleep(1)   # idle: start-up's pages settled
                    figures[runtime]["wall_s"].append(wall)
                    figures[runtime]["pss_kib"].append(pss_kib(engine, ids))
                    engine.docker("rm", "-f", *ids, timeout=300)
        finally:
            engine.stop()
            leftovers.clean()
    print(f"{'runtime':10} {'wall s':>8} {'PSS/container MiB':>18}   "
          f"({args.containers} concurrent docker run -d, median of {args.rounds})")
    for runtime, f in figures.items():
        print(f"{runtime:10} {statistics.median(f['wall_s']):8.2f} "
              f"{statistics.median(f['pss_kib']) / 1024:18.1f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
