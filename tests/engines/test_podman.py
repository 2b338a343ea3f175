"""podman 4.3 with `--runtime runsc-py` (through conmon)."""
from __future__ import annotations

import re


def test_podman_run_rm(podman):
    proc = podman.podman("run", "--rm", "--network", "none", podman.image,
                         "echo", "hello", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello\n"


def test_exit_status_passes_through(podman):
    proc = podman.podman("run", "--rm", "--network", "none", podman.image,
                         "sh", "-c", "exit 3", check=False)
    assert proc.returncode == 3, proc.stderr


def test_top_lists_the_containers_processes(podman):
    """psgo joins the mount namespace of the pid the runtime reports (the
    sentry's) and lists /proc there: the sandbox's pid namespace, with
    elapsed times since those processes started; before, every host
    process, with the host's times."""
    cid = podman.podman("run", "-d", "--network", "none", podman.image,
                        "sh", "-c", "sleep 100 & sleep 100").stdout.strip()
    try:
        rows = [line.split(None, 2) for line in
                podman.podman("top", cid, "pid", "etime", "args").stdout.splitlines()[1:]]
        assert [(pid, args.strip()) for pid, _, args in rows] == \
            [("1", "sleep 100"), ("2", "sleep 100")], rows
        # seconds (or ms) since they started, not the host's hours
        assert not any(re.search(r"\d+h|\d+m\d", etime) for _, etime, _ in rows), rows
    finally:
        podman.podman("rm", "-f", cid, check=False)
