"""linux.seccomp: the profile is enforced on the workload's syscalls (attacked here)."""
from __future__ import annotations

import json
import signal

import pytest


def _profile(bundle, args, seccomp):
    doc = bundle.config(args)
    doc["linux"]["seccomp"] = seccomp
    (bundle.path / "config.json").write_text(json.dumps(doc))


def test_a_denied_call_fails_with_the_profiles_errno(bundle):
    _profile(bundle, ["sh", "-c", "mkdir /tmp/d; echo rc=$?"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 13}]})
    proc = bundle.cli("run", "-b", str(bundle.path), "s1")
    assert "Permission denied" in proc.stdout and "rc=1" in proc.stdout, proc.stdout


def test_without_the_rule_the_sentry_answers(bundle):
    _profile(bundle, ["sh", "-c", "mkdir /tmp/d; echo rc=$?"],
             {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []})
    proc = bundle.cli("run", "-b", str(bundle.path), "s2")
    assert "Read-only file system" in proc.stdout, proc.stdout


def test_kill_process_action(bundle):
    _profile(bundle, ["hostname"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_KILL_PROCESS"}]})
    proc = bundle.cli("run", "-b", str(bundle.path), "s3")
    assert proc.returncode == 128 + signal.SIGSYS, proc.stdout


def test_argument_conditions(bundle):
    """kill(pid, SIGUSR1) is denied by an EQ condition on argument 1; kill(pid, 0) is not."""
    _profile(bundle, ["sh", "-c", "kill -USR1 $$; echo usr1=$?; kill -0 $$; echo zero=$?"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                      "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]}]})
    proc = bundle.cli("run", "-b", str(bundle.path), "s4")
    assert "usr1=1" in proc.stdout and "zero=0" in proc.stdout, proc.stdout


def test_an_allow_list_profile_runs_a_shell(bundle):
    """defaultAction ERRNO, as docker's default profile: what the shell needs is allowed."""
    names = ["read", "write", "openat", "close", "fstat", "newfstatat", "mmap", "mprotect",
             "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl",
             "execve", "execveat", "exit", "exit_group", "wait4", "clone", "fork", "vfork",
             "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "uname", "fcntl",
             "arch_prctl", "set_tid_address", "set_robust_list", "prlimit64", "getcwd",
             "seccomp", "dup2", "dup3", "pipe2", "stat", "lstat", "access", "readlink",
             "getdents64", "lseek", "poll", "writev", "sched_getaffinity", "getrandom"]
    _profile(bundle, ["sh", "-c", "echo allowed; chdir /tmp && echo cd-ok"], {
        "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]})
    proc = bundle.cli("run", "-b", str(bundle.path), "s5")
    assert "allowed" in proc.stdout, proc.stdout
    assert "cd-ok" not in proc.stdout   # chdir is not in the list


@pytest.mark.parametrize("action", ["SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY", "SCMP_ACT_BOGUS"])
def test_actions_that_compete_with_the_sentry_are_refused(bundle, action):
    _profile(bundle, ["true"], {"defaultAction": "SCMP_ACT_ALLOW",
                                "syscalls": [{"names": ["uname"], "action": action}]})
    proc = bundle.cli("create", "-b", str(bundle.path), "s6")
    assert proc.returncode != 0 and action in proc.stdout
