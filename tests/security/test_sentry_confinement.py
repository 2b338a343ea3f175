"""The sentry's own seccomp filter: a call outside its list kills it, and the workload with it.

The sentry makes the call through its test hook (sentry/confinement.py:
`--debug` and RUNSC_PY_DEBUG_SENTRY_SYSCALL=NR make it call NR half a
second into serving). Without the filter the call would just fail (mount
with null arguments) and the sentry would carry on, so these fail then.
"""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.conftest import PLATFORMS, RUNSC_PY
from tests.oci.conftest import bundle  # noqa: F401 - the OCI tests' fixture

NR_MOUNT, NR_GETPID = 165, 39
SIGSYS = 31


def _hooked(nr: int) -> dict:
    return dict(os.environ, RUNSC_PY_DEBUG_SENTRY_SYSCALL=str(nr))


def _alive(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    return out.split()


def _gone(marker: str, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_call_outside_the_list_kills_the_sentry_and_the_workload(platform):
    marker = f"sleep 97{PLATFORMS.index(platform)}"
    proc = subprocess.run(RUNSC_PY + ["--debug", "--platform", platform, "do", "--",
                                      "sh", "-c", f"echo up; {marker}; echo survived"],
                          capture_output=True, text=True, timeout=30, env=_hooked(NR_MOUNT))
    assert proc.stdout == "up\n", proc
    assert proc.returncode == -SIGSYS, proc    # SECCOMP_RET_KILL_PROCESS
    assert _gone(marker), "the workload outlived its sentry"


def test_a_call_in_the_list_does_not():
    """The hook itself is harmless: what kills is the filter, not the hook."""
    proc = subprocess.run(RUNSC_PY + ["--debug", "do", "--", "sh", "-c", "sleep 1; echo done"],
                          capture_output=True, text=True, timeout=30, env=_hooked(NR_GETPID))
    assert (proc.returncode, proc.stdout) == (0, "done\n"), proc
    assert "calls system call 39" in proc.stderr


def test_the_hook_needs_debug():
    proc = subprocess.run(RUNSC_PY + ["do", "--", "sh", "-c", "sleep 1; echo done"],
                          capture_output=True, text=True, timeout=30, env=_hooked(NR_MOUNT))
    assert (proc.returncode, proc.stdout) == (0, "done\n"), proc


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_oci_sentry_dies_the_same_way(bundle, platform):
    marker = f"sleep 98{PLATFORMS.index(platform)}"
    bundle.config(["sh", "-c", marker])
    env = _hooked(NR_MOUNT)
    argv = ["--debug", "--platform", platform, "run", "-d", "-b", str(bundle.path), "c1"]
    assert bundle.cli(*argv, env=env).returncode == 0
    state = bundle.wait_status("c1", "stopped")
    assert state["status"] == "stopped"
    assert _gone(marker), "the workload outlived its sentry"


# -- a compromised sentry and the host's processes ------------------------------------
#
# The sentry keeps CAP_SYS_PTRACE and CAP_KILL for its workload, and those
# reach every host process. Its Landlock domain (confinement.
# fence_off_host_processes) leaves only what it forked since in reach: the
# spawner and the workload, whose roots are read-only views; the gofer,
# whose root is a host tree in the host's mount namespace, is forked before
# the domain, out of reach. The probe hook (RUNSC_PY_DEBUG_SENTRY_PROBE=
# PID:DIR) tries each way into a host root process, and to make a file in a
# host directory through each of its own children's /proc/CHILD/root.
# The hook also climbs ("../" * 64) from every directory the sentry holds
# and from the sandbox's root as the gofer hands it over. Without the
# domain every try at the process succeeds; with the gofer in the domain,
# the spawner's view writable, the log's directory held as itself rather
# than a detached bind, or the gofer serving the host's own mounts rather
# than a detached (read-only) copy, a file lands.

PROBES = {"root", "mem", "ns", "kill", "ptrace"}


@pytest.fixture
def host_process():
    """A root process of the host's, in a session of its own."""
    proc = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    yield proc.pid
    proc.kill()
    proc.wait()


def _probe_env(pid: int, directory) -> dict:
    return dict(os.environ, RUNSC_PY_DEBUG_SENTRY_PROBE=f"{pid}:{directory}")


def _probed(output: str) -> dict[str, str]:
    prefix = "runsc-py: test hook: probe "
    lines = [line[len(prefix):] for line in output.splitlines() if line.startswith(prefix)]
    return dict(line.split(": ", 1) for line in lines)


def _tracer_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("TracerPid:"))


def _fenced(outcomes: dict[str, str], host_pid: int, directory, children: int) -> None:
    writes = {name: o for name, o in outcomes.items() if name.startswith("write via ")}
    assert set(outcomes) - set(writes) == PROBES, outcomes
    # EACCES from Landlock, or ENOENT: the sentry's own /proc (hidepid=ptraceable)
    # shows no process it may not ptrace
    assert {outcomes["root"], outcomes["mem"], outcomes["ns"]} <= {"EACCES", "ENOENT"}, outcomes
    assert outcomes["kill"] == outcomes["ptrace"] == "EPERM", outcomes
    assert _tracer_of(host_pid) == 0
    through_children = [name for name in writes if name.split()[-1].isdigit()
                        and not name.startswith("write via fd ")]
    assert len(through_children) == children, outcomes
    assert "write via gofer root" in writes, outcomes
    assert "ok" not in writes.values(), outcomes
    assert os.listdir(directory) == []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_sentry_cannot_reach_host_processes(platform, host_process, tmp_path):
    proc = subprocess.run(RUNSC_PY + ["--debug", "--platform", platform, "do", "--",
                                      "sh", "-c", "sleep 2; echo done"],
                          capture_output=True, text=True, timeout=30,
                          env=_probe_env(host_process, tmp_path))
    assert (proc.returncode, proc.stdout) == (0, "done\n"), proc
    _fenced(_probed(proc.stderr), host_process, tmp_path, children=2)   # gofer, init


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_oci_sentry_cannot_either(bundle, platform, host_process, tmp_path):
    bundle.config(["sh", "-c", "sleep 2; echo done"])
    target, logs = tmp_path / "target", tmp_path / "logs"
    target.mkdir()
    logs.mkdir()   # the sentry holds this directory too (oci/log.py, Log.hold)
    proc = bundle.cli("--debug", "--log", str(logs / "runsc.log"), "--platform", platform,
                      "run", "-b", str(bundle.path), "c1", env=_probe_env(host_process, target))
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stdout
    probed = _probed((logs / "runsc.log").read_text())
    _fenced(probed, host_process, target, children=3)   # gofer, spawner, init
