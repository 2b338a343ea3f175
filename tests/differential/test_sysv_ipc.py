"""System V semaphores against Linux (tests/programs/sysv_sem.c): semop and
semtimedop (a timeout, a wait another process ends, IPC_NOWAIT, a bad
timeout), semctl's values. Natively in an IPC namespace of its own, so the
host's IPC objects are never touched."""
import shutil

import pytest

from tests.conftest import run, sandboxed


@pytest.fixture(scope="module")
def native(program):
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    result = run(["unshare", "--ipc", program("sysv_sem")])
    assert result.code == 0 and b"semtimedop woken: 0" in result.out, result
    return result.out


def test_semaphores_match_linux(platform, program, native):
    r = sandboxed(platform, program("sysv_sem"))
    assert (r.code, r.out) == (0, native), r
