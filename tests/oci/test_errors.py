"""Each error: a clear message, a non-zero exit, and a consistent state directory."""
from __future__ import annotations

import json
import os

import pytest


def _entries(bundle) -> list[str]:
    return sorted(os.listdir(bundle.root)) if bundle.root.exists() else []


def test_unknown_id(bundle):
    for cmd in (["state"], ["start"], ["kill"], ["delete"], ["ps"], ["pause"], ["resume"],
                ["events", "--stats"]):
        proc = bundle.cli(*cmd, "nope")
        assert proc.returncode != 0
        assert "container 'nope' does not exist" in proc.stdout, (cmd, proc.stdout)
    assert bundle.cli("delete", "--force", "nope").returncode == 0   # as runc
    assert _entries(bundle) == []


def test_double_create(bundle):
    bundle.config(["sleep", "100"])
    assert bundle.cli("create", "-b", str(bundle.path), "c1").returncode == 0
    before = bundle.state("c1")
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0 and "already exists" in proc.stdout
    assert bundle.state("c1") == before   # the first one is untouched


def test_the_same_id_under_another_root_is_refused(bundle, tmp_path):
    """Both would share the cgroup /runsc-py/ID: the second create must not
    take it, nor its failure destroy it (killing the first container)."""
    bundle.config(["sleep", "100"])
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    before = bundle.state("c1")
    other = str(tmp_path / "other-root")
    proc = bundle.cli("--root", other, "create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0
    assert "cgroup /runsc-py/c1 is not empty" in proc.stdout, proc.stdout
    assert not os.path.exists(os.path.join(other, "c1"))
    assert bundle.state("c1") == before   # still running, in its cgroup
    os.kill(before["pid"], 0)


def test_start_of_a_stopped_container(bundle):
    bundle.config(["true"])
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    assert bundle.wait_status("c1", "stopped")["status"] == "stopped"
    proc = bundle.cli("start", "c1")
    assert proc.returncode != 0 and "it is stopped" in proc.stdout
    assert bundle.state("c1")["status"] == "stopped"
    assert bundle.cli("delete", "c1").returncode == 0


@pytest.mark.parametrize("text, words", [
    ("{not json", "is not valid JSON"),
    ("[]", "must hold a JSON object"),
    ('{"ociVersion": "1.0.2", "root": {"path": "rootfs"}}', "has no process"),
    ('{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": []}}',
     "process.args must be a non-empty list"),
    ('{"ociVersion": "2.0", "root": {"path": "rootfs"}, "process": {"args": ["true"]}}',
     "ociVersion '2.0' is not supported"),
])
def test_malformed_config(bundle, text, words):
    (bundle.path / "config.json").write_text(text)
    proc = bundle.cli("create", "-b", str(bundle.path), "bad")
    assert proc.returncode != 0
    assert "invalid config.json" in proc.stdout and words in proc.stdout, proc.stdout
    assert _entries(bundle) == []


def test_missing_rootfs(bundle):
    doc = bundle.config(["true"])
    doc["root"]["path"] = "no-such-dir"
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0 and "rootfs" in proc.stdout and "does not exist" in proc.stdout
    assert _entries(bundle) == []


def test_missing_program_fails_create_cleanly(bundle):
    bundle.config(["/bin/no-such-program"])
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0 and "no-such-program" in proc.stdout, proc.stdout
    assert _entries(bundle) == []
    assert not os.path.exists("/sys/fs/cgroup/memory/runsc-py/c1")


def test_bad_signal_name(bundle):
    bundle.config(["sleep", "100"])
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    for bad in ("SIGNOPE", "99", "-1"):
        proc = bundle.cli("kill", "c1", bad)
        assert proc.returncode != 0, bad
    proc = bundle.cli("kill", "c1", "SIGNOPE")
    assert "unknown signal 'SIGNOPE'" in proc.stdout
    assert bundle.state("c1")["status"] == "running"


def test_delete_of_a_running_container_needs_force(bundle):
    bundle.config(["sleep", "100"])
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    proc = bundle.cli("delete", "c1")
    assert proc.returncode != 0 and "use delete --force" in proc.stdout
    assert bundle.state("c1")["status"] == "running"
    pid = bundle.state("c1")["pid"]
    assert bundle.cli("delete", "--force", "c1").returncode == 0
    assert _entries(bundle) == []
    assert not os.path.exists(f"/proc/{pid}/cmdline") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_delete_force_cleans_up_a_half_made_container(bundle):
    (bundle.root / "half").mkdir(parents=True)   # a create killed before it wrote anything
    assert bundle.cli("delete", "--force", "half").returncode == 0
    assert _entries(bundle) == []


def test_unsupported_fields_are_refused_by_name(bundle):
    doc = bundle.config(["true"])
    doc["linux"]["intelRdt"] = {"closID": "guaranteed"}
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0 and "linux.intelRdt is not supported" in proc.stdout
    assert _entries(bundle) == []


def test_json_log_ends_with_an_actionable_error(bundle):
    log = bundle.path / "log.json"
    bundle.config(["/bin/no-such-program"])
    proc = bundle.cli("--log", str(log), "--log-format", "json", "create", "-b",
                      str(bundle.path), "c1")
    assert proc.returncode != 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    last = [entry for entry in lines if entry["level"] == "error"][-1]
    assert set(last) == {"level", "msg", "time"}
    assert "no-such-program" in last["msg"] and "create" in last["msg"]


def test_exec_into_a_stopped_container(bundle):
    bundle.config(["true"])
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    assert bundle.wait_status("c1", "stopped")["status"] == "stopped"
    proc = bundle.cli("exec", "c1", "echo", "hi")
    assert proc.returncode != 0 and "cannot exec in container c1: it is stopped" in proc.stdout
    assert "hi\n" not in proc.stdout


def test_terminal_needs_a_console_socket(bundle):
    doc = bundle.config(["true"])
    doc["process"]["terminal"] = True
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("create", "-b", str(bundle.path), "t1")
    assert proc.returncode != 0 and "no --console-socket was given" in proc.stdout
    assert _entries(bundle) == []


def test_an_unreachable_console_socket_fails_create_cleanly(bundle):
    doc = bundle.config(["true"])
    doc["process"]["terminal"] = True
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("create", "-b", str(bundle.path), "--console-socket",
                      str(bundle.path / "nobody-listens"), "t1")
    assert proc.returncode != 0 and "cannot reach" in proc.stdout, proc.stdout
    assert _entries(bundle) == []
