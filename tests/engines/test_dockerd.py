"""dockerd 20.10 with `--add-runtime runsc-py=...`.

docker's default seccomp profile is refused with an actionable error
(runsc-py does not enforce OCI seccomp profiles yet), so the runs pass
`--security-opt seccomp=unconfined`.
"""
from __future__ import annotations

import time

RUN = ("run", "--rm", "--runtime", "runsc-py", "--network", "none")
UNCONFINED = ("--security-opt", "seccomp=unconfined")


def test_docker_run_echo(dockerd):
    proc = dockerd.docker(*RUN, *UNCONFINED, dockerd.image, "echo", "hello", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello\n"


def test_exit_status_passes_through(dockerd):
    assert dockerd.docker(*RUN, *UNCONFINED, dockerd.image, "sh", "-c", "exit 3",
                          check=False).returncode == 3


def test_the_seccomp_refusal_is_actionable(dockerd):
    proc = dockerd.docker(*RUN, dockerd.image, "true", check=False)
    assert proc.returncode != 0
    assert "OCI runtime create failed" in proc.stderr
    assert "linux.seccomp is not enforced" in proc.stderr and "seccomp=unconfined" in proc.stderr


def test_docker_stop_within_the_grace_period(dockerd):
    dockerd.docker("run", "-d", "--name", "stopme", "--runtime", "runsc-py", "--network", "none",
                   *UNCONFINED, dockerd.image, "sleep", "100")
    start = time.monotonic()
    dockerd.docker("stop", "-t", "10", "stopme")
    assert time.monotonic() - start < 8   # SIGTERM ended it; no SIGKILL after the grace period
    code = dockerd.docker("inspect", "-f", "{{.State.ExitCode}}", "stopme").stdout.strip()
    assert code == "143"
    dockerd.docker("rm", "stopme")


def test_docker_exec(dockerd):
    dockerd.docker("run", "-d", "--name", "execme", "--runtime", "runsc-py", "--network", "none",
                   *UNCONFINED, dockerd.image, "sleep", "100")
    proc = dockerd.docker("exec", "execme", "sh", "-c", "echo inside; exit 4", check=False)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == "inside\n"
    dockerd.docker("rm", "-f", "execme")


def test_docker_run_with_a_tty(dockerd):
    proc = dockerd.docker("run", "-t", *RUN[1:], *UNCONFINED, dockerd.image, "sh", "-c",
                          "test -t 0 && echo has-a-tty", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "has-a-tty"


def test_docker_exec_with_a_tty(dockerd):
    dockerd.docker("run", "-d", "--name", "ttyexec", "--runtime", "runsc-py", "--network", "none",
                   *UNCONFINED, dockerd.image, "sleep", "100")
    proc = dockerd.docker("exec", "-t", "ttyexec", "sh", "-c", "test -t 1 && echo exec-tty",
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "exec-tty"
    dockerd.docker("rm", "-f", "ttyexec")
