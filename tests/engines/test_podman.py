"""podman 4.3 with `--runtime runsc-py` (through conmon)."""
from __future__ import annotations



def test_podman_run_rm(podman):
    proc = podman.podman("run", "--rm", "--network", "none", podman.image,
                         "echo", "hello", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello\n"


def test_exit_status_passes_through(podman):
    proc = podman.podman("run", "--rm", "--network", "none", podman.image,
                         "sh", "-c", "exit 3", check=False)
    assert proc.returncode == 3, proc.stderr
