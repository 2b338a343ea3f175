"""CPython's own regression modules, natively and inside `runsc-py do`.

    python3 -m tests.conformance.cpython_regrtest [--platform seccomp] [--json out.json]
        [--modules test_wait3,test_fork1]

Each module runs as `python3 -m unittest -v test.MODULE`, natively and
sandboxed, from the same working directory; the per-test outcomes are
compared. (Under unittest every test.support resource is enabled, so
test_socketserver's network tests run, as with regrtest's `-u network`.)
The native side runs as root, confined (tests/confine_native.sh): these
modules set the clock, write /proc and make devices when they can. (unittest rather than `python3 -m test`: regrtest's logger reads
the load average from /proc/loadavg, which the sandbox's /proc does not
offer yet, and the harness must be the same on both sides.) Prints, per
module, the counts of passed/failed/skipped tests on each side and every
test that passes natively but not in the sandbox.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

MODULES = ["test_subprocess", "test_signal", "test_threading", "test_wait3", "test_wait4",
           "test_fork1", "test_posix", "test_os", "test_stat", "test_glob", "test_fcntl",
           "test_select", "test_resource", "test_fileio", "test_mmap",
           # files and formats
           "test_io", "test_shutil", "test_tempfile", "test_pathlib", "test_zipfile",
           "test_tarfile",
           # time, terminals, logging, ids
           "test_time", "test_selectors", "test_pty", "test_logging", "test_uuid",
           # the network (all inside the sandbox), processes at scale, the harness itself
           "test_socket", "test_ssl", "test_socketserver", "test_httpservers",
           "test_urllib2_localnet", "test_xmlrpc", "test_asyncio", "test_concurrent_futures",
           "test_multiprocessing_fork", "test_unittest"]
RUNSC_PY = [sys.executable, "-m", "runsc_py.cli.main"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATIVE_CONFINED = ["unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--fork",
                   "--mount-proc", "--propagation", "private",
                   os.path.join(REPO, "tests", "confine_native.sh")]
# "test_name (test.module.Class.test_name) ... ok", possibly with the outcome
# on a later line when the test printed something in between.
TEST_LINE = re.compile(r"^(\w+) \(([\w.]+)\)(?: \.\.\. |$)")
OUTCOMES = (("ok", "pass"), ("FAIL", "fail"), ("ERROR", "error"), ("skipped", "skip"),
            ("expected failure", "pass"), ("unexpected success", "fail"))


def parse(output: str) -> dict[str, str]:
    """Test id -> pass/fail/error/skip, from unittest's verbose output."""
    results: dict[str, str] = {}
    pending: str | None = None
    for line in output.splitlines():
        m = TEST_LINE.match(line)
        if m:
            pending = m.group(2) if "." in m.group(2) and m.group(2).endswith(m.group(1)) \
                else f"{m.group(2)}.{m.group(1)}"
            line = line[m.end():] if " ... " in line else ""
        if pending is None:
            continue
        word = _outcome(line.strip())
        if word is not None:
            results[pending] = word
            pending = None
    return results


def _outcome(text: str) -> str | None:
    for prefix, outcome in OUTCOMES:
        if text == prefix or text.startswith(prefix + " ") or text.endswith(" " + prefix) \
                or (prefix == "skipped" and text.startswith("skipped")):
            return outcome
    return None


def run_module(module: str, platform: str | None, timeout: float, cwd: str) -> dict:
    """One module's outcomes: sandboxed on `platform`, or (None) natively,
    as root but confined where nothing it does reaches the host (every
    mount read-only, /tmp and the cwd fresh tmpfs, namespaces of its own,
    no capability past them: tests/confine_native.sh)."""
    argv = [sys.executable, "-m", "unittest", "-v", f"test.{module}"]
    env = dict(os.environ)
    if platform is not None:  # this checkout's runsc_py, from the temporary cwd too
        argv = RUNSC_PY + ["do", f"--platform={platform}", "--"] + argv
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    else:
        argv = NATIVE_CONFINED + argv
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                              timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL, env=env)
        output, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = _text(exc.stdout) + _text(exc.stderr), "timeout"
    return {"exit": code, "tests": parse(output), "tail": output[-2000:]}


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def counts(tests: dict[str, str]) -> dict[str, int]:
    out = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
    for outcome in tests.values():
        out[outcome] += 1
    return out


def only_in_sandbox(native: dict[str, str], sandbox: dict[str, str]) -> dict[str, str]:
    """Tests that pass natively but not sandboxed: id -> the sandbox's outcome."""
    return {t: sandbox.get(t, "missing") for t, o in sorted(native.items())
            if o == "pass" and sandbox.get(t) != "pass"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--platform", default="seccomp", choices=["seccomp", "ptrace"])
    ap.add_argument("--modules", default=",".join(MODULES))
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    report = {}
    with tempfile.TemporaryDirectory() as cwd:
        for module in args.modules.split(","):
            native = run_module(module, None, args.timeout, cwd)
            sandbox = run_module(module, args.platform, args.timeout, cwd)
            report[module] = {"native": native, "sandbox": sandbox,
                              "only_in_sandbox": only_in_sandbox(native["tests"], sandbox["tests"])}
            n, s = counts(native["tests"]), counts(sandbox["tests"])
            print(f"{module:18} native {n}  sandbox {s}  exit {native['exit']}/{sandbox['exit']}",
                  flush=True)
            for test, outcome in report[module]["only_in_sandbox"].items():
                print(f"    {outcome:7} {test}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
