"""containerd 1.6 running containers with `ctr run --runc-binary runsc-py`."""
from __future__ import annotations

import time


def _run(containerd, cid, *argv, detach=False):
    flags = ["--detach"] if detach else ["--rm"]
    return containerd.ctr("run", *flags, "--runc-binary", str(containerd.runtime),
                          containerd.image, cid, *argv, check=False)


def test_ctr_run_prints_and_exits(containerd):
    proc = _run(containerd, "hello", "echo", "hello from runsc-py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "hello from runsc-py"


def test_exit_status_passes_through(containerd):
    proc = _run(containerd, "status", "sh", "-c", "exit 3")
    assert proc.returncode == 3, proc.stderr


def test_task_ps_and_kill(containerd):
    proc = _run(containerd, "long", "sleep", "100", detach=True)
    assert proc.returncode == 0, proc.stderr
    deadline = time.monotonic() + 20
    while "RUNNING" not in containerd.ctr("tasks", "ls").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    ps = containerd.ctr("tasks", "ps", "long").stdout.split()
    assert "PID" in ps and len(ps) >= 3   # a header and one process
    pid = int(ps[ps.index("INFO") + 1]) if "INFO" in ps else int(ps[2])
    assert b"sleep" in open(f"/proc/{pid}/cmdline", "rb").read()
    containerd.ctr("tasks", "kill", "--signal", "SIGKILL", "long")
    while "STOPPED" not in containerd.ctr("tasks", "ls").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "STOPPED" in containerd.ctr("tasks", "ls").stdout
    containerd.ctr("tasks", "delete", "long")
    containerd.ctr("containers", "delete", "long")


def test_a_failed_create_says_why(containerd):
    proc = _run(containerd, "missing", "/bin/no-such-program")
    assert proc.returncode != 0
    assert 'exec: "/bin/no-such-program": executable file not found' in proc.stderr, proc.stderr
    containerd.ctr("containers", "delete", "missing", check=False)


def test_task_exec(containerd):
    assert _run(containerd, "execd", "sleep", "100", detach=True).returncode == 0
    proc = containerd.ctr("tasks", "exec", "--exec-id", "e1", "execd", "sh", "-c",
                          "echo inside; exit 6", check=False)
    assert proc.returncode == 6, proc.stderr
    assert proc.stdout == "inside\n"
    containerd.ctr("tasks", "kill", "--signal", "SIGKILL", "execd")
    deadline = time.monotonic() + 20
    while "STOPPED" not in containerd.ctr("tasks", "ls").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    containerd.ctr("tasks", "delete", "execd")
    containerd.ctr("containers", "delete", "execd")

