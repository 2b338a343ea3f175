"""dockerd 20.10 with `--add-runtime runsc-py=...` (docker's default seccomp profile on)."""
from __future__ import annotations

import json
import time

RUN = ("run", "--rm", "--runtime", "runsc-py", "--network", "none")


def test_docker_run_echo(dockerd):
    proc = dockerd.docker(*RUN, dockerd.image, "echo", "hello", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello\n"


def test_exit_status_passes_through(dockerd):
    assert dockerd.docker(*RUN, dockerd.image, "sh", "-c", "exit 3",
                          check=False).returncode == 3


def test_a_custom_seccomp_profile_is_enforced(dockerd, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    proc = dockerd.docker(*RUN, "--security-opt", f"seccomp={profile}", dockerd.image,
                          "sh", "-c", "mkdir /tmp/x; echo rc=$?", check=False)
    assert "Permission denied" in proc.stderr + proc.stdout and "rc=1" in proc.stdout


def test_a_failed_create_says_why(dockerd):
    proc = dockerd.docker(*RUN, dockerd.image, "/bin/no-such-program", check=False)
    assert proc.returncode != 0
    assert "OCI runtime create failed" in proc.stderr
    assert "no-such-program: command not found in the sandbox" in proc.stderr, proc.stderr


def test_docker_stop_within_the_grace_period(dockerd):
    dockerd.docker("run", "-d", "--name", "stopme", "--runtime", "runsc-py", "--network", "none",
                   dockerd.image, "sleep", "100")
    start = time.monotonic()
    dockerd.docker("stop", "-t", "10", "stopme")
    assert time.monotonic() - start < 8   # SIGTERM ended it; no SIGKILL after the grace period
    code = dockerd.docker("inspect", "-f", "{{.State.ExitCode}}", "stopme").stdout.strip()
    assert code == "143"
    dockerd.docker("rm", "stopme")


def test_docker_exec(dockerd):
    dockerd.docker("run", "-d", "--name", "execme", "--runtime", "runsc-py", "--network", "none",
                   dockerd.image, "sleep", "100")
    proc = dockerd.docker("exec", "execme", "sh", "-c", "echo inside; exit 4", check=False)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == "inside\n"
    dockerd.docker("rm", "-f", "execme")


def test_docker_run_with_a_tty(dockerd):
    proc = dockerd.docker("run", "-t", *RUN[1:], dockerd.image, "sh", "-c",
                          "test -t 0 && echo has-a-tty", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "has-a-tty"


def test_docker_exec_with_a_tty(dockerd):
    dockerd.docker("run", "-d", "--name", "ttyexec", "--runtime", "runsc-py", "--network", "none",
                   dockerd.image, "sleep", "100")
    proc = dockerd.docker("exec", "-t", "ttyexec", "sh", "-c", "test -t 1 && echo exec-tty",
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "exec-tty"
    dockerd.docker("rm", "-f", "ttyexec")
