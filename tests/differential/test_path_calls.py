"""Every path syscall, success and error paths, natively and in the sandbox.

tests/differential/path_calls.py runs in a fresh scratch directory natively,
then in the sandbox with that directory on each writable backend: the
overlay root (the host directory is the lower layer), a writable bind
mount (the gofer changes the host directory) and a tmpfs mount. Every line
(the call and its errno or result) and the final tree must be the same.
"""
import os
import pathlib
import sys

import pytest

from tests.conftest import run, sandboxed

PROGRAM = str(pathlib.Path(__file__).with_name("path_calls.py"))
BACKENDS = {
    "overlay": lambda d: (),
    "bind": lambda d: ("-v", f"{d}:{d}"),
    "tmpfs": lambda d: ("--tmpfs", d),
}


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("native")
    result = run([sys.executable, PROGRAM, str(scratch)])
    assert result.code == 0, result
    return result.out


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_path_calls_match_linux(platform, backend, native, tmp_path):
    scratch = str(tmp_path)
    r = sandboxed(platform, sys.executable, PROGRAM, scratch, flags=BACKENDS[backend](scratch))
    assert r.code == 0, r
    assert r.out.decode().splitlines() == native.decode().splitlines()
    if backend == "overlay":
        assert os.listdir(scratch) == []  # the changes stayed in the sandbox
    if backend == "bind":
        assert "f3" in os.listdir(scratch)  # they reached the host
