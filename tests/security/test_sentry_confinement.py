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
