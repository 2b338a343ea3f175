"""The gofer confines itself: even its own code can reach host files only beneath its root fd."""
import errno
import os
import subprocess
import time

from runsc_py._interpose import lib
from runsc_py.gofer import landlock
from runsc_py.gofer.server import ALLOWED_SYSCALLS
from runsc_py.platform.policy import confine_self
from tests.conftest import RUNSC_PY
from tests.security.test_fail_closed import _children, _pids_with_marker

RESOLVE_IN_ROOT = 0x10


def _in_confined_child(attempt, root_path: str = "/etc", readonly: bool = True) -> int:
    """Run attempt() in a forked child confined as the gofer is (Landlock to
    root_path, then the allow-list filter); its exit code is the errno."""
    root = os.open(root_path, os.O_PATH | os.O_DIRECTORY)
    pid = os.fork()
    if pid == 0:
        code = 255
        try:
            assert landlock.restrict_to([(root, readonly)])
            confine_self(ALLOWED_SYSCALLS, errno.EPERM)
            code = attempt(root)
        finally:
            os._exit(code)
    os.close(root)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _open_by_path(_root) -> int:
    try:
        os.close(os.open("/etc/passwd", os.O_RDONLY))
        return 0
    except OSError as exc:
        return exc.errno


def _exec(_root) -> int:
    try:
        os.execv("/bin/true", ["true"])
    except OSError as exc:
        return exc.errno
    return 0


def _openat2_beneath_root(root) -> int:
    fd = lib.rp_openat2(root, b"../../passwd", os.O_RDONLY, 0, RESOLVE_IN_ROOT)
    if fd < 0:
        return -fd
    os.close(fd)
    return 0


def _openat2_climbing_out(root) -> int:
    """A compromised gofer need not pass RESOLVE_IN_ROOT: ".." from its root fd."""
    fd = lib.rp_openat2(root, b"../usr/bin/env", os.O_RDONLY, 0, 0)
    if fd < 0:
        return -fd
    os.close(fd)
    return 0


def _openat2_absolute(_root) -> int:
    fd = lib.rp_openat2(-100, b"/usr/bin/env", os.O_RDONLY, 0, 0)
    if fd < 0:
        return -fd
    os.close(fd)
    return 0


def _mkdir_climbing_out(root) -> int:
    try:
        os.mkdir("../escaped", dir_fd=root)
        return 0
    except OSError as exc:
        return exc.errno


def _mkdir_beneath(root) -> int:
    try:
        os.mkdir("inside", dir_fd=root)
        return 0
    except OSError as exc:
        return exc.errno


def test_landlock_keeps_any_call_beneath_the_roots():
    assert _in_confined_child(_openat2_climbing_out) == errno.EACCES
    assert _in_confined_child(_openat2_absolute) == errno.EACCES


def test_a_writable_root_is_writable_only_beneath(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    assert _in_confined_child(_mkdir_climbing_out, str(root), readonly=False) == errno.EACCES
    assert not (tmp_path / "escaped").exists()
    assert _in_confined_child(_mkdir_beneath, str(root), readonly=False) == 0
    assert (root / "inside").is_dir()
    assert _in_confined_child(_mkdir_beneath, str(tmp_path), readonly=True) == errno.EACCES


def test_paths_from_the_process_root_are_refused():
    assert _in_confined_child(_open_by_path) == errno.EPERM
    assert _in_confined_child(_exec) == errno.EPERM


def test_files_beneath_the_root_fd_still_open():
    assert _in_confined_child(_openat2_beneath_root) == 0


def test_the_running_gofer_is_filtered(program):
    marker = "gofer-confined"
    sentry = subprocess.Popen(RUNSC_PY + ["do", "--", program("spin"), marker],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while not _pids_with_marker(marker) and time.time() < deadline:
            time.sleep(0.05)
        workload = set(_pids_with_marker(marker))
        gofer = [p for p in _children(sentry.pid) if p not in workload]
        assert len(gofer) == 1
        status = open(f"/proc/{gofer[0]}/status").read()
        assert "Seccomp:\t2" in status and "NoNewPrivs:\t1" in status
    finally:
        sentry.kill()
        sentry.wait()
