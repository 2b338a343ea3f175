"""--inject: failures the sandbox answers in place of chosen calls
(syscalls/faults.py), on both platforms: by path, fd, port, byte count,
nth call and seeded probability; the call never reaches the host; each is
in --strace and the report; a bad SPEC is a usage error."""
import json

import pytest

from tests.conftest import runsc_py, sandboxed
from tests.differential.compare import python_program

PROBE = python_program("inject_probe.py")


def inject(platform, specs, *argv, flags=()):
    return sandboxed(platform, *argv, flags=(*flags, *(f"--inject={s}" for s in specs)))


def test_by_path_only_that_path_fails(platform):
    r = inject(platform, ["openat:ENOENT:path=/etc/hostname"],
               "sh", "-c", "cat /etc/hostname; echo $?; head -c 4 /etc/os-release")
    assert r.code == 0 and r.out.endswith(b"1\nPRET"), r
    assert b"/etc/hostname: No such file or directory" in r.err, r


def test_by_fd_and_nth(platform, tmp_path):
    r = inject(platform, ["read:EIO:fd=42:nth=2"], *PROBE, "reads", str(tmp_path))
    assert (r.code, r.out) == (0, b"ok EIO ok\n"), r


def test_after_so_many_bytes_every_write_fails(platform, tmp_path):
    r = inject(platform, ["write:ENOSPC:fd=42:after=8"], *PROBE, "writes", str(tmp_path))
    assert (r.code, r.out) == (0, b"ok ok ENOSPC ENOSPC ENOSPC\n"), r


def test_by_port(platform, tmp_path):
    r = inject(platform, ["connect:ECONNREFUSED:port=5432"], *PROBE, "connect", str(tmp_path))
    assert (r.code, r.out) == (0, b"5432 ECONNREFUSED\n5433 ok\n"), r


def test_a_seed_makes_the_draws_repeatable(platform, tmp_path):
    spec = ["newfstatat:EIO:path=/:prob=0.5"]
    runs = [inject(platform, spec, *PROBE, "stats", str(tmp_path), flags=("--seed", seed))
            for seed in ("7", "7", "8")]
    assert all(r.code == 0 for r in runs), runs
    first, again, other = (r.out.strip() for r in runs)
    assert first == again and first != other, runs
    assert len(first) == 40 and b"." in first and b"x" in first, first


def test_every_call_may_be_chosen_and_the_rest_still_run(platform):
    r = inject(platform, ["*:EINTR:prob=0"], "python3", "-c", "import json; print(json.dumps(1))")
    assert (r.code, r.out) == (0, b"1\n"), r


def test_an_injected_call_never_reaches_the_host(platform, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("still here")
    r = inject(platform, [f"unlinkat:EPERM:path={victim}", f"unlink:EPERM:path={victim}"],
               "rm", "-f", str(victim), flags=("-v", f"{tmp_path}:{tmp_path}"))
    assert r.code != 0 and b"Operation not permitted" in r.err, r
    assert victim.read_text() == "still here"


def test_injections_are_traced_and_counted(platform, tmp_path):
    trace, report = tmp_path / "trace", tmp_path / "report.json"
    r = inject(platform, ["read:EIO:fd=42:nth=2"], *PROBE, "reads", str(tmp_path),
               flags=(f"--strace-log={trace}", f"--report-file={report}", "--report-format=json"))
    assert r.code == 0, r
    injected = [line for line in trace.read_text().splitlines() if line.endswith("(injected)")]
    assert len(injected) == 1 and injected[0].split("]", 1)[1].strip().startswith("read(42,"), injected
    assert injected[0].endswith("= -1 EIO (Input/output error) (injected)"), injected
    assert json.loads(report.read_text())["injected"] == [
        {"rule": "read:EIO:fd=42:nth=2", "injected": 1}]


@pytest.mark.parametrize("spec", ["read", "nosuchcall:EIO", "read:NOTANERRNO", "read:EIO:fdd=3",
                                  "read:EIO:prob=2", "read:EIO:after=lots"])
def test_a_bad_spec_is_a_usage_error(spec):
    r = runsc_py("do", f"--inject={spec}", "--", "true")
    assert r.code == 2 and b"--inject" in r.err and b"Traceback" not in r.err, r
