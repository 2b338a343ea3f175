"""A syscall the sentry does not implement: ENOSYS, in --strace, in --report; never native."""
import json

from tests.conftest import sandboxed

SYSFS = "139"             # sysfs(2), obsolete: not in the table, so unimplemented
UNKNOWN = "1000"          # no such syscall: the filter's default sends it to the sentry
RP_NR_INSTALL = "1023"    # the sentry's private install number, called by the workload itself


def test_enosys_for_unimplemented(platform, program):
    r = sandboxed(platform, program("sys"), SYSFS, "buf")
    assert r.out == b"ret=-1 errno=38\n", r


def test_enosys_for_unknown_numbers(platform, program):
    for nr in (UNKNOWN, RP_NR_INSTALL):
        r = sandboxed(platform, program("sys"), nr)
        assert r.out == b"ret=-1 errno=38\n", (nr, r)


def test_other_abis_are_killed(platform, program):
    # x32's getpid: libseccomp's bad-architecture action kills the caller (SIGSYS)
    r = sandboxed(platform, program("sys"), "0x40000027")
    assert (r.code, r.out) == (128 + 31, b""), r


def test_strace_shows_the_call(platform, program):
    r = sandboxed(platform, program("sys"), SYSFS, "buf", flags=("--strace",))
    lines = [ln for ln in r.err.decode().splitlines() if "sysfs(" in ln]
    assert len(lines) == 1, r.err
    assert "ENOSYS" in lines[0] and "(unimplemented)" in lines[0]


def test_strace_log_file(platform, program, tmp_path):
    log = tmp_path / "trace"
    r = sandboxed(platform, program("sys"), "2", "str:/etc/hostname", "0",
                  flags=("--strace", f"--strace-log={log}"))
    assert r.code == 0 and b"openat" not in r.err
    assert "open('/etc/hostname'" in log.read_text()


def test_report_text(platform, program):
    r = sandboxed(platform, program("sys"), SYSFS, "buf", flags=("--report",))
    assert b"sysfs" in r.err and b"nr 139" in r.err, r.err


def test_report_json(platform, program):
    r = sandboxed(platform, program("sys"), UNKNOWN, flags=("--report", "--report-format=json"))
    report = json.loads(r.err)
    assert [(row["nr"], row["count"]) for row in report["unimplemented"]] == [(1000, 1)]
