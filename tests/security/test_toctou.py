"""No check-then-continue: a call the kernel runs never reads memory the sentry checked.

Each attack has one thread flip what a pointer argument holds — a path's
first byte, a msghdr's msg_name, a sockaddr, clone_args' flags — while
another makes the call thousands of times (tests/programs/toctou.c), and
then looks at a host canary: a host file's times and ctime, a host unix
datagram listener that must have received nothing, clone3 never run.
tests/unit/test_pointer_rule.py checks the table's declarations.
"""
import os
import socket

import pytest

from tests.conftest import sandboxed


@pytest.fixture
def host_file(tmp_path):
    path = tmp_path / "canary"
    path.write_text("host")
    os.utime(path, ns=(10**18, 10**18))
    return path


@pytest.mark.parametrize("call", ["utimensat", "fchownat"])
def test_empty_path_on_a_pipe_never_reaches_a_host_file(platform, program, host_file, call):
    before = os.stat(host_file)
    r = sandboxed(platform, program("toctou"), call, str(host_file), timeout=60)
    assert r.code == 0 and f"{call} done".encode() in r.out, r
    after = os.stat(host_file)
    assert (after.st_mtime_ns, after.st_atime_ns) == (before.st_mtime_ns, before.st_atime_ns)
    assert after.st_ctime_ns == before.st_ctime_ns, "the host file's inode was changed"
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)


@pytest.mark.parametrize("call", ["sendmsg", "sendmmsg", "sendto"])
def test_a_flipped_address_never_reaches_a_host_listener(platform, program, tmp_path, call):
    name = str(tmp_path / "listener")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(name)
    os.chmod(name, 0o777)
    listener.setblocking(False)
    try:
        r = sandboxed(platform, program("toctou"), call, name, timeout=60)
        assert r.code == 0 and f"{call} done".encode() in r.out, r
        try:
            got = listener.recv(64)
        except BlockingIOError:
            got = None
        assert got is None, f"a host listener received {got!r} from the sandbox"
    finally:
        listener.close()


def test_clone3_never_runs_whatever_its_flags_become(platform, program):
    """clone3's flags are in memory: refused (ENOSYS) whatever they hold, so no
    child can be made with CLONE_UNTRACED (or set_tid) flipped in after a check."""
    r = sandboxed(platform, program("toctou"), "clone3", timeout=60)
    assert r.code == 0 and b"clone3 done ok=0 other=0" in r.out, r
