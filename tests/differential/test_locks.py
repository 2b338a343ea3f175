"""File locks against Linux: flock, POSIX record locks and OFD locks
between two processes (tests/programs/locks.c).

Conflicts and F_GETLK's answers (the locker's pid included), ranges split
and merged, SEEK_CUR/SEEK_END and negative lengths, the open-mode and
argument errors, release on the close of another fd of the file, at exit
and with the last fd of a description, EDEADLK, a blocking wait woken by a
release, and blocking waits interrupted by SIGALRM (a handler without
SA_RESTART: EINTR). Natively on a scratch file; sandboxed on the same kind
of file reached through a bind mount, where the sentry keeps the locks
(sentry/locks.py), and on a sandbox tmpfs, where they stay native.
"""
import pytest

from tests.conftest import run, sandboxed

BACKENDS = {
    "bind": lambda d: ("-v", f"{d}:{d}"),
    "tmpfs": lambda d: ("--tmpfs", d),
}


@pytest.fixture(scope="module")
def native(program, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("native")
    result = run([program("locks"), str(scratch / "f")], timeout=60)
    assert result.code == 0, result
    return result.out


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_locks_match_linux(platform, program, backend, native, tmp_path):
    r = sandboxed(platform, program("locks"), str(tmp_path / "f"),
                  flags=BACKENDS[backend](str(tmp_path)), timeout=60)
    assert r.code == 0, r
    assert r.out == native, r
