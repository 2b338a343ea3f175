"""Where fork+exec+wait's time goes: a static binary vs a dynamic one, native vs sandboxed.

    python3 bench/fork_exec.py [--iters 300] [--runs 5] [--platform seccomp]

A static binary makes no call after exec but exit, so its row is the
cost of the clone and exec machinery alone (ptrace events, the exec's
fd install and rewrite); the dynamic `/bin/true` adds what its loader
does (ld.so.preload, ld.so.cache and libc opened through the VFS, fstat,
close, prlimit). Figures are the minimum of --runs runs (the machine is
shared), in µs per fork+exec+wait.
"""
from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
RUNSC_PY = [sys.executable, "-m", "runsc_py.cli.main", "do"]


def build(out: pathlib.Path) -> tuple[str, str]:
    loop, static = out / "fork_exec", out / "static_true"
    subprocess.run(["gcc", "-O2", "-o", str(loop), str(HERE / "src" / "fork_exec.c")], check=True)
    (out / "true.c").write_text("int main(void) { return 0; }\n")
    subprocess.run(["gcc", "-O2", "-static", "-o", str(static), str(out / "true.c")], check=True)
    return str(loop), str(static)


def best(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        times.append(float(out.split()[0]))
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--platform", default="seccomp", choices=["seccomp", "ptrace"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        loop, static = build(pathlib.Path(tmp))
        print("| program | native | runsc-py |\n|---|---|---|")
        for label, target in (("static binary", static), ("/bin/true (dynamic)", "/bin/true")):
            argv = [loop, target, str(args.iters)]
            native = best(argv, args.runs)
            sandboxed = best(RUNSC_PY + [f"--platform={args.platform}", "--"] + argv, args.runs)
            print(f"| {label} | {native:.0f} µs | {sandboxed:.0f} µs (×{sandboxed / native:.1f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
