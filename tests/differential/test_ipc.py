"""System V semaphores (tests/programs/sysv_sem.c), the ids System V objects
report (tests/programs/sysv_ids.c) and POSIX message queues
(tests/programs/mqueue.c) against Linux. Natively each runs in an IPC
namespace of its own, so the host's IPC objects are never touched; in the
sandbox, in the workload's own."""
import pytest

from tests.conftest import run, sandboxed


def _native(program, name: str, marker: bytes) -> bytes:
    result = run(["unshare", "--ipc", program(name)])   # (util-linux: setup.sh installs it)
    assert result.code == 0 and marker in result.out, result
    return result.out


@pytest.fixture(scope="module")
def semaphores(program):
    return _native(program, "sysv_sem", b"semtimedop woken: 0")


@pytest.fixture(scope="module")
def queues(program):
    return _native(program, "mqueue", b"notified: 1")


def test_semaphores_match_linux(platform, program, semaphores):
    r = sandboxed(platform, program("sysv_sem"))
    assert (r.code, r.out) == (0, semaphores), r


def test_message_queues_match_linux(platform, program, queues):
    """Names and errnos, priorities, timeouts, attributes, a notification
    signal, close-on-exec, and who may open and unlink a queue."""
    r = sandboxed(platform, program("mqueue"))
    assert (r.code, r.out) == (0, queues), r


def test_system_v_ids_are_the_sandboxs(platform, program):
    """IPC_STAT says the creator's and owner's sandbox ids (root's, uid
    1000's, IPC_SET's), not the workload's host user."""
    native = _native(program, "sysv_ids", b"uid 1000 msg after IPC_SET: uid 7")
    r = sandboxed(platform, program("sysv_ids"))
    assert (r.code, r.out) == (0, native), r
