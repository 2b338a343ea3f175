"""The Python API's warm pool: requests per second and latency, by concurrency.

    python3 bench/pool.py [--size 4] [--requests 48] [--platform seccomp] [--plot out.png]

Each request runs `print(time.time())` as Python code in a prepared
interpreter of the pool (`Pool(prepare=["python3", "-c", "import json"])`).
*start* is how long after the request its code began (the time it printed
minus the time of the request); *round trip* is until the Result came
back (the sandbox ended: its output and exit status are final). Rows for
1, 4 and 16 concurrent callers as fast as they can (the pool's refill,
a whole sandbox booted per request, is then the bound), after one row of
single requests into a full, quiet pool (the warm start itself); the last
row is a cold `Sandbox.run` of the same code, one at a time. Figures are this machine's,
measured side by side in one run; only the ratios travel.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runsc_py import Pool, Sandbox  # noqa: E402

CODE = "import time; print(time.time())"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one(run) -> tuple[float, float]:
    """(start, round trip) of one request, in ms."""
    asked = time.time()
    result = run()
    back = time.time()
    if result.returncode != 0:
        raise RuntimeError(result)
    return (float(result.stdout) - asked) * 1000, (back - asked) * 1000


def measure(pool: Pool, callers: int, requests: int) -> dict:
    samples: list[tuple[float, float]] = []
    lock = threading.Lock()
    per_caller = max(1, requests // callers)

    def caller() -> None:
        for _ in range(per_caller):
            sample = one(lambda: pool.run(code=CODE))
            with lock:
                samples.append(sample)

    began = time.monotonic()
    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    return summary(f"pool, {callers} caller{'s' if callers > 1 else ''}", samples,
                   len(samples) / elapsed)


def summary(name: str, samples: list[tuple[float, float]], rps: float) -> dict:
    starts, trips = [s for s, _ in samples], [t for _, t in samples]
    return {"name": name, "rps": rps, "start_p50": statistics.median(starts),
            "start_p99": percentile(starts, 0.99), "trip_p50": statistics.median(trips),
            "trip_p99": percentile(trips, 0.99)}


def wait_ready(pool: Pool, size: int, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while pool._ready.qsize() < size and time.monotonic() < deadline:
        time.sleep(0.1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4)
    ap.add_argument("--requests", type=int, default=48)
    ap.add_argument("--platform", default="seccomp", choices=["seccomp", "ptrace"])
    ap.add_argument("--plot", metavar="PNG", help="draw the latencies (needs matplotlib)")
    args = ap.parse_args()
    rows = []
    template = Sandbox(platform=args.platform, timeout=60)
    with Pool(size=args.size, template=template, prepare=["python3", "-c", "import json"]) as pool:
        idle = []
        for _ in range(12):   # one request at a time into a full, quiet pool: the warm start
            wait_ready(pool, args.size)
            idle.append(one(lambda: pool.run(code=CODE)))
        rows.append(summary("pool, 1 caller, idle between", idle, 0.0))
        for callers in (1, 4, 16):
            wait_ready(pool, args.size)
            rows.append(measure(pool, callers, args.requests))
    cold = [one(lambda: template.run(["python3", "-c", CODE])) for _ in range(10)]
    rows.append(summary("cold Sandbox.run, 1 caller", cold,
                        len(cold) / (sum(t for _, t in cold) / 1000)))
    template.close()
    print(f"pool of {args.size}, {args.platform}, {os.cpu_count()} CPUs\n")
    print("| | requests/s | start p50 | start p99 | round trip p50 | round trip p99 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        rps = f"{r['rps']:.1f}" if r["rps"] else "–"
        print(f"| {r['name']} | {rps} | {r['start_p50']:.1f} ms | {r['start_p99']:.1f} ms "
              f"| {r['trip_p50']:.1f} ms | {r['trip_p99']:.1f} ms |")
    if args.plot:
        plot(rows, args.plot)
    return 0


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ys = range(len(rows))
    ax.barh([y - 0.2 for y in ys], [r["start_p50"] for r in rows], 0.4, label="start p50")
    ax.barh([y + 0.2 for y in ys], [r["trip_p50"] for r in rows], 0.4, label="round trip p50")
    ax.set_yticks(list(ys), names)
    ax.set_xscale("log")
    ax.set_xlabel("ms (log)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    sys.exit(main())
