"""The command line: syscalls table, version, bad input, the sandbox's own names."""
import csv
import io
import json
import os
import pathlib

from tests.conftest import runsc_py, sandboxed

LEVELS = {"full", "partial", "native", "denied", "unimplemented"}


def test_syscalls_json():
    rows = json.loads(runsc_py("syscalls", "--format", "json").out)
    by_name = {r["name"]: r for r in rows}
    assert by_name["execve"]["support"] == "full"
    assert by_name["read"]["support"] == "native"
    assert by_name["io_uring_setup"]["support"] == "denied"
    assert {r["support"] for r in rows} <= LEVELS
    assert len(rows) > 300


def test_syscalls_csv_and_table():
    rows = list(csv.DictReader(io.StringIO(runsc_py("syscalls", "--format", "csv").out.decode())))
    assert rows[0].keys() >= {"nr", "name", "support", "policy", "note"}
    table = runsc_py("syscalls").out.decode()
    assert "openat" in table and "unimplemented" in table


def test_version():
    r = runsc_py("--version")
    assert r.out.decode().splitlines()[0].startswith("runsc-py version ")
    assert r.out.decode().splitlines()[1].startswith("spec: ")


def test_no_command_is_a_usage_error():
    r = runsc_py("do")
    assert r.code == 2 and b"no command" in r.err


def test_bad_user_or_file_size_is_a_usage_error():
    for flags in (("--user", "nobody"), ("--user", "1:2:3"), ("--user", "-1"),
                  ("--file-size-limit", "huge")):
        r = runsc_py("do", *flags, "--", "true")
        assert r.code == 2 and flags[0].encode() in r.err and b"Traceback" not in r.err, (flags, r)


def test_missing_command_is_127(platform):
    r = sandboxed(platform, "no-such-command-anywhere")
    assert r.code == 127 and b"no-such-command-anywhere" in r.err and b"Traceback" not in r.err


def test_uname_is_the_sandboxs(platform, busybox):
    r = sandboxed(platform, busybox, "uname", "-n", "-r")
    assert r.out == b"runsc-py 6.1.0-runsc-py\n", r


def test_bad_pointer_is_efault(platform, program, busybox):
    for args in (("4", "1", "buf"), ("4", "str:/etc/passwd", "1"), ("22", "1"), ("257", "-100", "8")):
        r = sandboxed(platform, program("sys"), *args)
        assert r.out == b"ret=-1 errno=14\n", (args, r)


def test_exec_from_a_thread(platform, program):
    r = sandboxed(platform, program("thread_exec"))
    assert (r.code, r.out) == (0, b"exec from a thread, pid 1\n"), r


def test_exec_while_signals_arrive(platform, program):
    # a signal can withdraw the sentry's exec steps midway; exec must still happen
    r = sandboxed(platform, program("exec_under_signals"), "40", timeout=120)
    assert (r.code, r.out) == (0, b"ok\n"), r


def test_strace_log_alone_writes_the_trace(tmp_path, busybox):
    """--strace-log FILE implies --strace (it wrote nothing without it), and
    the trace goes to the file, not into the workload's stderr."""
    log = tmp_path / "trace"
    r = sandboxed("seccomp", busybox, "true", flags=("--strace-log", str(log)))
    assert r.code == 0 and r.err == b"", r
    assert "execve(" in log.read_text()


def test_a_sentry_bug_goes_to_the_log_not_into_the_output(platform, program, tmp_path):
    """A handler that raises (the --debug test hook breaks uname's): the call
    fails with EIO, the workload goes on, its stderr gets one line, and the
    traceback is in the runtime's log: --log's file, else one of its own."""
    env = dict(os.environ, RUNSC_PY_DEBUG_SENTRY_BUG="63")
    log = tmp_path / "log"
    r = runsc_py("--debug", f"--log={log}", "do", f"--platform={platform}", "--",
                 program("sys"), "63", "buf", env=env)
    assert (r.code, r.out) == (0, b"ret=-1 errno=5\n"), r
    assert b"Traceback" not in r.err and r.err.count(b"\n") == 1, r
    assert b"sentry error in uname" in r.err and str(log).encode() in r.err, r
    assert "RuntimeError: test hook" in log.read_text()
    r = runsc_py("--debug", "do", f"--platform={platform}", "--", program("sys"), "63", "buf", env=env)
    assert b"Traceback" not in r.err and r.err.count(b"\n") == 1, r
    own = pathlib.Path(r.err.decode().rsplit("details in ", 1)[1].rstrip(")\n"))
    try:
        assert "RuntimeError: test hook" in own.read_text()
    finally:
        own.unlink()
