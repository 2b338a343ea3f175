"""The OCI lifecycle against bundles built here: create → start → kill → delete."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time

import pytest

from runsc_py.oci.state import process_start_time
from tests.conftest import finish
from tests.oci.conftest import RUNSC_PY

PR_SET_CHILD_SUBREAPER = 36
LONG = ["sh", "-c", "echo started; exec sleep 100"]
# An init with a SIGTERM handler: a container's init without one ignores
# SIGTERM, as on Linux (Kernel.init_protected); this one ends as if killed by it.
HANDLES_TERM = ["sh", "-c", "trap 'exit 143' TERM; echo started; sleep 100 & wait"]


def _reap_status(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while process_start_time(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.02)


def test_create_start_kill_delete(bundle):
    bundle.config(LONG)
    pid_file = bundle.path / "pid"
    created = bundle.cli("create", "--bundle", str(bundle.path), "--pid-file", str(pid_file), "c1")
    assert created.returncode == 0, created.stdout
    state = bundle.state("c1")
    assert state["status"] == "created"
    assert state["pid"] == int(pid_file.read_text())
    assert state["bundle"] == str(bundle.path) and state["id"] == "c1"
    assert "started" not in created.stdout   # the program has not run yet
    assert bundle.cli("start", "c1").returncode == 0
    assert bundle.wait_status("c1", "running")["status"] == "running"
    assert bundle.cli("kill", "c1", "KILL").returncode == 0
    assert bundle.wait_status("c1", "stopped")["status"] == "stopped"
    assert bundle.cli("delete", "c1").returncode == 0
    assert not (bundle.root / "c1").exists()
    assert bundle.cli("state", "c1").returncode != 0


def test_run_passes_output_and_exit_status(bundle):
    bundle.config(["sh", "-c", "echo hello from $(hostname); exit 3"], hostname="box")
    proc = bundle.cli("run", "--bundle", str(bundle.path), "r1")
    assert proc.returncode == 3, proc.stdout
    assert "hello from box" in proc.stdout
    assert not (bundle.root / "r1").exists()


def test_run_reports_signal_death_as_128_plus(bundle):
    bundle.config(LONG)
    run = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "run", "-b", str(bundle.path), "r2"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert run.stdout.readline() == b"started\n"
        assert bundle.cli("kill", "r2", "KILL").returncode == 0
    finally:
        finish(run)
    assert run.returncode == 137


def test_init_ignores_what_it_has_no_handler_for(bundle):
    """Linux's rule for a pid namespace's init, as runc's containers have it: a
    signal it has no handler for is dropped when sent from inside (SIGKILL
    too), and from outside unless it is SIGKILL or SIGSTOP; one it handles
    arrives."""
    bundle.config(["sh", "-c", "kill -9 $$; kill -TERM $$; kill -HUP 1; kill -USR2 1; echo survived; "
                               "trap 'echo handled' USR1; kill -USR1 $$; exit 3"])
    proc = bundle.cli("run", "-b", str(bundle.path), "i1")
    assert (proc.returncode, proc.stdout) == (3, "survived\nhandled\n")
    bundle.config(LONG)
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "i2").returncode == 0
    for sig in ("TERM", "INT", "HUP"):
        assert bundle.cli("kill", "i2", sig).returncode == 0
    assert bundle.state("i2")["status"] == "running"
    assert bundle.cli("kill", "i2", "KILL").returncode == 0
    assert bundle.wait_status("i2", "stopped")["status"] == "stopped"


def test_the_written_pid_exits_with_the_workload_status(bundle):
    """The engine's shim reaps the pid file's process: its status must be the workload's."""
    bundle.config(["sh", "-c", "exit 7"])
    pid_file = bundle.path / "pid"
    # Become the orphaned sandbox's reaper, as containerd's shim is (a child subreaper).
    prctl = ctypes.CDLL(None).prctl
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        assert bundle.cli("create", "-b", str(bundle.path), "--pid-file", str(pid_file),
                          "c1").returncode == 0
        pid = int(pid_file.read_text())
        assert bundle.cli("start", "c1").returncode == 0
        _, status = os.waitpid(pid, 0)
    finally:
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7
    assert bundle.state("c1")["status"] == "stopped"
    assert bundle.cli("delete", "c1").returncode == 0


def test_kill_by_number_and_name_and_default(bundle):
    bundle.config(HANDLES_TERM)
    for cid, sig in (("n", ["15"]), ("s", ["SIGTERM"]), ("d", [])):
        assert bundle.cli("run", "-d", "-b", str(bundle.path), cid).returncode == 0
        assert bundle.cli("kill", cid, *sig).returncode == 0
        assert bundle.wait_status(cid, "stopped")["status"] == "stopped"
        assert bundle.cli("delete", cid).returncode == 0


def test_kill_before_start_stops_it(bundle):
    bundle.config(LONG)
    assert bundle.cli("create", "-b", str(bundle.path), "c1").returncode == 0
    assert bundle.cli("kill", "c1", "9").returncode == 0
    assert bundle.wait_status("c1", "stopped")["status"] == "stopped"
    assert bundle.cli("start", "c1").returncode != 0
    assert bundle.cli("delete", "c1").returncode == 0


def test_ps_pause_resume_update_events(bundle):
    bundle.config(LONG)
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    state = bundle.wait_status("c1", "running")
    pids = json.loads(bundle.cli("ps", "--format", "json", "c1").stdout)
    assert len(pids) == 1 and pids[0] != state["pid"]
    assert b"sleep" in open(f"/proc/{pids[0]}/cmdline", "rb").read()

    assert bundle.cli("pause", "c1").returncode == 0
    assert bundle.state("c1")["status"] == "paused"
    assert _freezer_state("c1") in ("FROZEN", "1")
    assert json.loads(bundle.cli("ps", "--format", "json", "c1").stdout) == pids
    assert bundle.cli("resume", "c1").returncode == 0
    assert bundle.state("c1")["status"] == "running"
    assert _freezer_state("c1") in ("THAWED", "0")

    limit = 96 * 1024 * 1024
    resources = json.dumps({"memory": {"limit": limit}})
    proc = bundle.cli("update", "--resources", "-", "c1", input=resources.encode())
    assert proc.returncode == 0, proc.stdout
    stats = json.loads(bundle.cli("events", "--stats", "c1").stdout)
    assert stats["type"] == "stats" and stats["data"]["memory"]["usage"]["limit"] == limit
    assert stats["data"]["pids"]["current"] >= 3   # sentry, gofer, workload
    assert bundle.cli("delete", "--force", "c1").returncode == 0
    assert not (bundle.root / "c1").exists()


def test_list_shows_each_container(bundle):
    bundle.config(LONG)
    for cid in ("a", "b"):
        assert bundle.cli("create", "-b", str(bundle.path), cid).returncode == 0
    listed = json.loads(bundle.cli("list", "--format", "json").stdout)
    assert sorted((s["id"], s["status"]) for s in listed) == [("a", "created"), ("b", "created")]
    assert "a" in bundle.cli("list").stdout


def test_spec_features_version(bundle, tmp_path):
    from tests.oci.conftest import RUNSC_PY
    import subprocess

    out = subprocess.run(RUNSC_PY + ["--version"], capture_output=True, text=True).stdout
    assert out.startswith("runsc-py version ") and "\nspec: 1." in out
    features = json.loads(subprocess.run(RUNSC_PY + ["features"], capture_output=True,
                                         text=True).stdout)
    assert "createRuntime" in features["hooks"]
    again = subprocess.run(RUNSC_PY + ["spec", "-b", str(bundle.path)], capture_output=True,
                           text=True)
    assert again.returncode != 0 and "already exists" in again.stderr


def test_hooks_get_the_state_on_stdin(bundle):
    log = bundle.path / "hooks.log"
    hook = bundle.path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$1 $(cat)\" >> {log}\n")
    hook.chmod(0o755)
    hooks = {kind: [{"path": str(hook), "args": ["hook.sh", kind]}]
             for kind in ("prestart", "createRuntime", "poststart", "poststop")}
    bundle.config(["true"], hooks=hooks)
    assert bundle.cli("run", "-b", str(bundle.path), "h1").returncode == 0
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["prestart", "createRuntime", "poststart",
                                                   "poststop"]
    state = json.loads(lines[0].split(" ", 1)[1])
    assert state["id"] == "h1" and state["pid"] > 0 and state["status"] == "created"


def test_a_failing_hook_fails_create_and_leaves_nothing(bundle):
    bundle.config(["true"], hooks={"createRuntime": [{"path": "/bin/false"}]})
    proc = bundle.cli("create", "-b", str(bundle.path), "h2")
    assert proc.returncode != 0 and "createRuntime hook /bin/false failed" in proc.stdout
    assert not (bundle.root / "h2").exists()


def test_a_hook_timeout_is_enforced(bundle):
    bundle.config(["true"], hooks={"createRuntime": [{"path": "/bin/sleep",
                                                      "args": ["sleep", "30"], "timeout": 1}]})
    start = time.monotonic()
    proc = bundle.cli("create", "-b", str(bundle.path), "h3")
    assert proc.returncode != 0 and "within 1s" in proc.stdout
    assert time.monotonic() - start < 15


def test_rootfs_is_the_root_and_read_only(bundle):
    bundle.config(["sh", "-c", "ls /; echo x > /tmp/f; echo rc=$?"])
    proc = bundle.cli("run", "-b", str(bundle.path), "ro")
    assert "bin" in proc.stdout and "rc=1" in proc.stdout
    assert not (bundle.path / "rootfs" / "tmp" / "f").exists()


def test_user_and_cwd_and_env(bundle):
    doc = bundle.config(["sh", "-c", "id -u; id -g; pwd; echo $GREETING"])
    doc["process"]["user"] = {"uid": 1000, "gid": 1001}
    doc["process"]["cwd"] = "/tmp"
    doc["process"]["env"].append("GREETING=hi")
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("run", "-b", str(bundle.path), "u1")
    assert proc.stdout.split() == ["1000", "1001", "/tmp", "hi"], proc.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_signal_to_run_is_forwarded(bundle, sig):
    import subprocess

    from tests.oci.conftest import RUNSC_PY

    bundle.config(HANDLES_TERM)
    proc = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "run", "-b", str(bundle.path),
                                        "f1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout.readline() == b"started\n"
    proc.send_signal(sig)
    assert proc.wait(timeout=20) == 128 + sig
    assert not (bundle.root / "f1").exists()


def _freezer_state(cid: str) -> str:
    for path in (f"/sys/fs/cgroup/freezer/runsc-py/{cid}/freezer.state",
                 f"/sys/fs/cgroup/runsc-py/{cid}/cgroup.freeze"):
        if os.path.exists(path):
            return open(path).read().strip()
    raise AssertionError("no freezer file for the container's cgroup")


def test_events_follow_until_the_container_stops(bundle):
    bundle.config(["sleep", "1"])
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "e1").returncode == 0
    proc = bundle.cli("events", "--interval", "200ms", "e1", timeout=20)
    assert proc.returncode == 0
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(events) >= 2 and all(e["type"] == "stats" and e["id"] == "e1" for e in events)
