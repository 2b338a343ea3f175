"""Fail closed: if the sentry or the gofer dies, no workload process survives."""
import os
import signal
import subprocess
import time

from tests.conftest import RUNSC_PY


def _pids_with_marker(marker: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if marker.encode() in argv and b"runsc_py.cli.main" not in argv:
            pids.append(int(entry))
    return pids


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _start(platform: str, program: str, marker: str) -> subprocess.Popen:
    """A sandbox whose workload is a shell with two descendants marked by argv."""
    script = f"{program} {marker} & {program} {marker} & wait"
    sentry = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", "--", "sh", "-c", script],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while len(_pids_with_marker(marker)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(_pids_with_marker(marker)) == 2, "the workload did not start"
    return sentry


def _assert_gone(marker: str) -> None:
    deadline = time.time() + 10
    while _pids_with_marker(marker) and time.time() < deadline:
        time.sleep(0.05)
    assert _pids_with_marker(marker) == [], "a workload process outlived its sandbox"


def test_killing_the_sentry_kills_the_workload(platform, program):
    marker = f"sentry-victim-{platform}"
    sentry = _start(platform, program("spin"), marker)
    os.kill(sentry.pid, signal.SIGKILL)
    sentry.wait(timeout=10)
    _assert_gone(marker)


def test_killing_the_gofer_kills_the_workload(platform, program):
    marker = f"gofer-victim-{platform}"
    sentry = _start(platform, program("spin"), marker)
    workload = set(_pids_with_marker(marker))
    gofers = [p for p in _children(sentry.pid) if p not in workload and not _children(p)]
    assert len(gofers) == 1, (gofers, _children(sentry.pid))
    os.kill(gofers[0], signal.SIGKILL)
    _out, err = sentry.communicate(timeout=20)
    assert sentry.returncode == 137 and b"gofer died" in err
    _assert_gone(marker)


def test_a_crashing_workload_leaves_the_sentry_standing(platform, program):
    for name, code in (("segv", 139), ("abort", 134)):
        r = subprocess.run(RUNSC_PY + ["do", f"--platform={platform}", "--", program(name)],
                           capture_output=True, timeout=60)
        assert r.returncode == code and b"Traceback" not in r.stderr, r
