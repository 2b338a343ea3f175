"""CPU affinity against Linux (tests/programs/cpu_affinity.py), and the pin.

--cpu-pin runs the sentry, the gofer and the workload on one CPU (wake-ups
on the waker's CPU); the workload must still see the CPUs it would have had
(sentry/cpus.py), and its own choice of CPUs must hold. Natively in a
private mount namespace. The pin itself is checked from the host: every
process of a pinned sandbox on one CPU, an unpinned workload on all."""
import os
import subprocess
import time

import pytest

from runsc_py.cli.do import CGROUP_WATCHER
from tests.conftest import RUNSC_PY, run, sandboxed
from tests.differential.compare import native_output, python_program

PROGRAM = python_program("cpu_affinity.py")
PIN_FLAGS = {"on": ("--cpu-pin=on",), "off": ("--cpu-pin=off",), "auto, --cpus 1": ("--cpus", "1")}
needs_two_cpus = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                                    reason="one CPU: pinned and not look the same")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    return native_output(PROGRAM, str(tmp_path_factory.mktemp("native")), b"after choosing CPU 0")


@pytest.mark.parametrize("pin", sorted(PIN_FLAGS))
def test_affinity_matches_linux(platform, pin, native, tmp_path):
    r = sandboxed(platform, *PROGRAM, str(tmp_path), flags=PIN_FLAGS[pin])
    assert (r.code, r.out) == (0, native), r


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{p}/task"):
            with open(f"/proc/{p}/task/{task}/children") as f:
                todo += [int(c) for c in f.read().split()]
        out.append(p)
    return out


def _allowed(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("Cpus_allowed_list"))


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def _host_masks(flags: tuple[str, ...]) -> dict[str, set[str]]:
    """The host's CPU list of each process of a sandbox running `sleep`, by name."""
    proc = subprocess.Popen([*RUNSC_PY, "do", *flags, "--", "sleep", "60"])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = _descendants(proc.pid)
            if any(_comm(p) == "sleep" for p in pids):
                masks: dict[str, set[str]] = {}
                for p in pids:   # (but the cgroup's watcher, which waits for the end)
                    if _comm(p) != CGROUP_WATCHER:
                        masks.setdefault(_comm(p), set()).add(_allowed(p))
                return masks
            time.sleep(0.05)
        raise AssertionError("the sandbox's sleep never started")
    finally:
        proc.kill()
        proc.wait()


@needs_two_cpus
@pytest.mark.parametrize("pin", ["on", "auto, --cpus 1"])
def test_a_pinned_sandbox_runs_on_one_cpu(pin):
    masks = _host_masks(PIN_FLAGS[pin])
    every = set().union(*masks.values())
    assert len(every) == 1 and "-" not in next(iter(every)) and "," not in next(iter(every)), masks


@needs_two_cpus
def test_a_task_may_choose_cpus_its_sandbox_was_not_started_with(platform):
    """The host checks a chosen mask against the task's cpuset, not against
    the mask the sandbox was started with (taskset's, here CPU 0 only)."""
    choose = ["python3", "-c", "import os; os.sched_setaffinity(0, {1}); "
              "print(sorted(os.sched_getaffinity(0)))"]
    native = run(["taskset", "-c", "0", *choose])
    r = run(["taskset", "-c", "0", *RUNSC_PY, "do", f"--platform={platform}", "--cpu-pin=on",
             "--", *choose])
    assert (native.code, native.out) == (0, b"[1]\n"), native
    assert (r.code, r.out) == (0, native.out), r


@needs_two_cpus
def test_an_unpinned_workload_keeps_its_cpus():
    masks = _host_masks(PIN_FLAGS["off"])
    assert masks["sleep"] == {_allowed(os.getpid())}, masks
