"""exec: another process in the running sandbox, served by the same sentry."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time

from tests.oci.conftest import RUNSC_PY

PR_SET_CHILD_SUBREAPER = 36


def _running(bundle, cid="c1"):
    bundle.config(["sleep", "100"], hostname="box")
    assert bundle.cli("run", "-d", "-b", str(bundle.path), cid).returncode == 0
    return bundle.wait_status(cid, "running")


def test_exec_runs_in_the_sandbox_and_passes_the_status(bundle):
    _running(bundle)
    proc = bundle.cli("exec", "c1", "sh", "-c", "hostname; ls /; exit 5")
    assert proc.returncode == 5
    lines = proc.stdout.split()
    assert lines[0] == "box"                      # the sandbox's UTS name, not the host's
    assert "bin" in lines and "work" not in lines  # the container's root, not the host's


def test_exec_sees_the_sandbox_processes(bundle):
    _running(bundle)
    proc = bundle.cli("exec", "c1", "ls", "/proc")
    assert proc.returncode == 0
    pids = sorted(int(x) for x in proc.stdout.split() if x.isdigit())
    assert pids[0] == 1 and len(pids) == 2        # init (sleep) and the exec'd ls itself


def test_exec_process_file_env_cwd_user(bundle):
    _running(bundle)
    process = {"args": ["sh", "-c", "id -u; pwd; echo $X"], "env": ["X=from-process-file",
                                                                     "PATH=/bin"],
               "cwd": "/tmp", "user": {"uid": 7, "gid": 8}}
    (bundle.path / "process.json").write_text(json.dumps(process))
    proc = bundle.cli("exec", "--process", str(bundle.path / "process.json"), "c1")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.split() == ["7", "/tmp", "from-process-file"]
    proc = bundle.cli("exec", "--cwd", "/bin", "--env", "Y=flag", "--user", "3:4", "c1",
                      "sh", "-c", "id -g; pwd; echo $Y")
    assert proc.stdout.split() == ["4", "/bin", "flag"], proc.stdout


def test_detached_exec_waiter_exits_with_the_status(bundle):
    """The pid file names a waiter the caller (a subreaper, like the shim) reaps."""
    _running(bundle)
    pid_file = bundle.path / "exec.pid"
    prctl = ctypes.CDLL(None).prctl
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        proc = bundle.cli("exec", "--detach", "--pid-file", str(pid_file), "c1",
                          "sh", "-c", "sleep 0.3; exit 4")
        assert proc.returncode == 0, proc.stdout
        _, status = os.waitpid(int(pid_file.read_text()), 0)
    finally:
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 4


def test_signals_to_the_waiter_reach_the_process(bundle):
    _running(bundle)
    waiter = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "exec", "c1", "sh", "-c",
                                          "echo ready; exec sleep 100"], stdout=subprocess.PIPE)
    assert waiter.stdout.readline() == b"ready\n"
    waiter.send_signal(signal.SIGTERM)
    assert waiter.wait(timeout=20) == 128 + signal.SIGTERM
    pids = json.loads(bundle.cli("ps", "--format", "json", "c1").stdout)
    assert len(pids) == 1   # only init is left


def test_a_killed_waiter_takes_its_process_with_it(bundle):
    _running(bundle)
    waiter = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "exec", "c1", "sh", "-c",
                                          "echo ready; exec sleep 100"], stdout=subprocess.PIPE)
    assert waiter.stdout.readline() == b"ready\n"
    assert len(json.loads(bundle.cli("ps", "--format", "json", "c1").stdout)) == 2
    waiter.kill()
    waiter.wait(timeout=20)
    deadline = time.monotonic() + 10
    while len(json.loads(bundle.cli("ps", "--format", "json", "c1").stdout)) > 1:
        assert time.monotonic() < deadline, "the exec'd process outlived its waiter"
        time.sleep(0.05)


def test_exec_processes_die_with_the_container(bundle):
    _running(bundle)
    waiter = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "exec", "c1", "sh", "-c",
                                          "echo ready; exec sleep 100"], stdout=subprocess.PIPE)
    assert waiter.stdout.readline() == b"ready\n"
    assert bundle.cli("kill", "c1", "KILL").returncode == 0
    assert waiter.wait(timeout=20) == 137


def test_two_execs_at_once(bundle):
    _running(bundle)
    procs = [subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "exec", "c1", "sh", "-c",
                                          f"sleep 0.5; echo {i}"], stdout=subprocess.PIPE)
             for i in range(2)]
    outs = [p.communicate(timeout=30)[0] for p in procs]
    assert outs == [b"0\n", b"1\n"] and all(p.returncode == 0 for p in procs)


def test_exec_on_the_ptrace_platform(bundle):
    bundle.config(["sleep", "100"])
    assert bundle.cli("--platform", "ptrace", "run", "-d", "-b", str(bundle.path),
                      "c1").returncode == 0
    proc = bundle.cli("exec", "c1", "sh", "-c", "ls /proc; exit 2")
    assert proc.returncode == 2
    assert sorted(x for x in proc.stdout.split() if x.isdigit()) == ["1", "2", "3"]


def test_kill_all_reaches_exec_processes(bundle):
    _running(bundle)
    waiter = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "exec", "c1", "sh", "-c",
                                          "echo ready; exec sleep 100"], stdout=subprocess.PIPE)
    assert waiter.stdout.readline() == b"ready\n"
    assert bundle.cli("kill", "--all", "c1", "KILL").returncode == 0
    assert waiter.wait(timeout=20) == 137
    assert bundle.wait_status("c1", "stopped")["status"] == "stopped"


def _parked_listener(bundle, port: int, argv0: str, timeout: float = 30) -> None:
    """Wait until, in the sandbox, a TCP socket listens on `port` (/proc/net/tcp
    or tcp6, state 0A) and the process whose argv starts with `argv0` sleeps
    (the sentry holds it in its parked accept)."""
    probe = ("cat /proc/net/tcp /proc/net/tcp6; for p in /proc/[0-9]*; do "
             "echo; echo \"== $(cut -d' ' -f3 $p/stat)\"; cat $p/cmdline; done")
    deadline = time.monotonic() + timeout
    while True:
        out = bundle.cli("exec", "c1", "sh", "-c", probe).stdout
        tables, _, procs = out.partition("\n== ")
        listening = any(f[1].endswith(f":{port:04X}") and f[3] == "0A"
                        for f in (line.split() for line in tables.splitlines()) if len(f) > 3)
        sleeping = any(block.startswith("S\n") and block[2:].split("\0")[0] == argv0
                       for block in ("== " + procs).split("\n== ")[1:])
        if listening and sleeping:
            return
        assert time.monotonic() < deadline, out
        time.sleep(0.05)


def test_a_parked_call_of_an_exec_process_is_answered(bundle, platform):
    """A blocking accept in an exec'd process is parked by the sentry and answered
    later, through that process's own seccomp listener (not init's)."""
    bundle.config(["sleep", "100"])
    flags = (f"--platform={platform}",)
    assert bundle.cli(*flags, "run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    bundle.wait_status("c1", "running")
    out = bundle.path / "served.txt"
    with open(out, "wb") as f:
        # The server's stdin stays open (a pipe this test holds): at EOF on its
        # stdin busybox nc shuts its sending side as soon as it accepts, and the
        # client, which exits at its peer's EOF, may see that EOF before `echo`
        # has written to its stdin, and leave without sending anything (native
        # Linux does the same).
        server = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "exec", "c1", "busybox", "nc",
                                              "-l", "-p", "7000"], stdin=subprocess.PIPE, stdout=f,
                                  stderr=subprocess.STDOUT)
        try:
            _parked_listener(bundle, 7000, "busybox")
            client = bundle.cli("exec", "c1", "sh", "-c", "echo through-the-park | busybox nc 127.0.0.1 7000")
            assert server.wait(timeout=20) == 0, out.read_text()
        finally:
            server.kill()
            server.stdin.close()
    assert client.returncode == 0, client.stdout
    assert out.read_text() == "through-the-park\n"
