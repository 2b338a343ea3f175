"""The workload cannot see or reach host processes, nor the sentry's listener."""
import os

from tests.conftest import sandboxed


def test_host_processes_cannot_be_signalled(platform, busybox):
    r = sandboxed(platform, busybox, "sh", "-c", f"kill -0 {os.getpid()} 2>/dev/null; echo $?")
    assert r.out == b"1\n", r


def test_proc_lists_only_the_sandbox(platform, busybox):
    r = sandboxed(platform, busybox, "sh", "-c", "ls /proc")
    pids = [int(name) for name in r.out.split() if name.isdigit()]
    assert pids and max(pids) < 10, r  # the sandbox's own virtual pids, not the host's
    assert b"self" in r.out


def test_pids_are_virtual(platform, busybox):
    r = sandboxed(platform, busybox, "sh", "-c", 'echo $$ $PPID; sh -c "echo \\$\\$ \\$PPID"; true')
    assert r.out == b"1 0\n2 1\n", r


def test_no_hidden_fds_reach_the_workload(platform, program):
    # probed with a native read(fd, 0, 0): the host's real fd table, not the sentry's
    r = sandboxed(platform, program("open_fds"))
    assert r.out == b"open=0\n", r
