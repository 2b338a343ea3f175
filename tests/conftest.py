"""Shared fixtures: run a program natively and under runsc-py, compile test programs."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

# Workloads named `python3` (natively and sandboxed) run the interpreter the
# tests run under, found first on PATH, as `pyenv exec` would arrange: a
# version manager's `python3` shim is a shell script that forks several
# times before Python starts, which a pids limit or a differential timing
# would notice.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

TESTS = pathlib.Path(__file__).resolve().parent
PROGRAMS = TESTS / "programs"
RUNSC_PY = [sys.executable, "-m", "runsc_py.cli.main"]
TIMEOUT = 60
PLATFORMS = ["seccomp", "ptrace"]


class Result:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out[:300]!r}, err={self.err[:300]!r})"


def run(argv: list[str], timeout: float = TIMEOUT, **kw) -> Result:
    return Result(subprocess.run(argv, capture_output=True, timeout=timeout, **kw))


def runsc_py(*args: str, timeout: float = TIMEOUT, **kw) -> Result:
    return run(RUNSC_PY + list(args), timeout=timeout, **kw)


def finish(proc: subprocess.Popen, timeout: float = 30):
    """Wait for a sandbox a test started with Popen; kill it if it will not end,
    so a failing test leaves no sandbox behind."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise


def sandboxed(platform: str, *argv: str, flags: tuple[str, ...] = (), timeout: float = TIMEOUT,
              **kw) -> Result:
    return runsc_py("do", f"--platform={platform}", *flags, "--", *argv, timeout=timeout, **kw)


@pytest.fixture(params=PLATFORMS)
def platform(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def program(tmp_path_factory):
    """program("sys") -> path of tests/programs/sys.c compiled (once per session)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (./setup.sh installs it)")
    out = tmp_path_factory.mktemp("programs")
    built: dict[str, str] = {}

    def build(name: str) -> str:
        if name not in built:
            exe = out / name
            subprocess.run(["gcc", "-O1", "-o", str(exe), str(PROGRAMS / f"{name}.c")], check=True)
            built[name] = str(exe)
        return built[name]

    return build


@pytest.fixture(scope="session")
def busybox() -> str:
    path = shutil.which("busybox")
    if path is None:
        pytest.skip("busybox is not installed (./setup.sh installs busybox-static)")
    return path
