"""No check-then-continue: a call the kernel runs never reads memory the sentry checked.

Each attack has one thread flip what a pointer argument holds — a path's
first byte, a msghdr's msg_name, a sockaddr, clone_args' flags — while
another makes the call thousands of times (tests/programs/toctou.c), and
then looks at a host canary: a host file's times and ctime, a host unix
datagram listener that must have received nothing, clone3 never run.
tests/unit/test_pointer_rule.py checks the table's declarations.
"""
import contextlib
import os
import shutil
import socket
import subprocess

import pytest

from tests.conftest import PROGRAMS, sandboxed
from tests.oci.conftest import bundle  # noqa: F401 - the OCI tests' fixture


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


@contextlib.contextmanager
def host_listener(path):
    """A host unix datagram listener anyone may send to; on leaving, what it
    received must be nothing."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    os.chmod(path, 0o777)
    listener.setblocking(False)
    try:
        yield
        try:
            got = listener.recv(64)
        except BlockingIOError:
            got = None
        assert got is None, f"a host listener received {got!r} from the sandbox"
    finally:
        listener.close()


@pytest.mark.parametrize("call", ["sendmsg", "sendmmsg", "sendto"])
def test_a_flipped_address_never_reaches_a_host_listener(platform, program, tmp_path, call):
    name = str(tmp_path / "listener")
    with host_listener(name):
        r = sandboxed(platform, program("toctou"), call, name, timeout=60)
        assert r.code == 0 and f"{call} done".encode() in r.out, r


def test_clone3_never_runs_whatever_its_flags_become(platform, program):
    """clone3's flags are in memory: refused (ENOSYS) whatever they hold, so no
    child can be made with CLONE_UNTRACED (or set_tid) flipped in after a check."""
    r = sandboxed(platform, program("toctou"), "clone3", timeout=60)
    assert r.code == 0 and b"clone3 done ok=0 other=0" in r.out, r


# The same attacks from an OCI container: the canaries are host objects in
# the container's rootfs (the workload's host root is a sealed view of it).

@pytest.fixture
def oci_toctou(bundle):
    """The bundle's rootfs with tests/programs/toctou.c built static into it."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (./setup.sh installs it)")
    subprocess.run(["gcc", "-static", "-O1", "-o", str(bundle.path / "rootfs" / "bin" / "toctou"),
                    str(PROGRAMS / "toctou.c")], check=True)
    return bundle


def _run_in_container(bundle, cid: str, *args: str) -> str:
    bundle.config(["/bin/toctou", *args])
    r = bundle.cli("run", "--bundle", str(bundle.path), cid, stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 0, r.stdout
    return r.stdout


@pytest.mark.parametrize("call", ["utimensat", "fchownat"])
def test_oci_empty_path_never_reaches_a_rootfs_file(oci_toctou, call):
    canary = oci_toctou.path / "rootfs" / "canary"
    canary.write_text("host")
    os.utime(canary, ns=(10**18, 10**18))
    before = os.stat(canary)
    assert f"{call} done" in _run_in_container(oci_toctou, "t1", call, "/canary")
    after = os.stat(canary)
    assert (after.st_mtime_ns, after.st_ctime_ns, after.st_uid) == \
        (before.st_mtime_ns, before.st_ctime_ns, before.st_uid)


@pytest.mark.parametrize("call", ["sendmsg", "sendmmsg"])
def test_oci_flipped_address_never_reaches_a_host_listener(oci_toctou, call):
    """A host unix listener in the rootfs: the workload's host root holds its
    name (a read-only mount does not stop a connect), the sandbox must not."""
    with host_listener(oci_toctou.path / "rootfs" / "listener"):
        assert f"{call} done" in _run_in_container(oci_toctou, "t2", call, "/listener")


def test_oci_clone3_never_runs(oci_toctou):
    assert "clone3 done ok=0 other=0" in _run_in_container(oci_toctou, "t3", "clone3")
