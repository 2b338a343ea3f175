"""O_PATH fds in the sandbox against Linux (their host slot is empty: fdtable.py)."""
import pathlib
import sys

import pytest

from tests.conftest import run, sandboxed

PROGRAMS = pathlib.Path(__file__).parent.parent / "programs" / "fs"
PROGRAM = str(PROGRAMS / "o_path.py")
OPS = str(PROGRAMS / "o_path_ops.py")
BACKENDS = {
    "overlay": lambda d: (),
    "bind": lambda d: ("-v", f"{d}:{d}"),
    "tmpfs": lambda d: ("--tmpfs", d),
}
# select(2) on an O_PATH fd: Linux polls nothing and reports it not ready; the
# sandbox's fd is an empty host slot, which the native select refuses.
KNOWN = {"  select: ok": "  select: EBADF"}


def test_o_path_matches_linux(platform, tmp_path):
    (tmp_path / "n").mkdir()
    (tmp_path / "s").mkdir()
    native = run([sys.executable, PROGRAM, str(tmp_path / "n")])
    inside = sandboxed(platform, sys.executable, PROGRAM, str(tmp_path / "s"))
    assert native.code == 0, native
    assert (inside.code, inside.out.replace(b"/s/", b"/n/").replace(b"/s\n", b"/n\n")) == \
        (0, native.out), (native, inside)


@pytest.fixture(scope="module")
def native_ops(tmp_path_factory):
    result = run([sys.executable, OPS, str(tmp_path_factory.mktemp("native") / "t")])
    assert result.code == 0, result
    return result.out.decode().splitlines()


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_call_on_an_o_path_fd_matches_linux(platform, backend, native_ops, tmp_path):
    """read, write, lseek, mmap, fsync, flock... EBADF; fstat, fchdir, dup,
    F_GETFL, *at, AT_EMPTY_PATH, /proc/self/fd{,info} work; across fork and exec."""
    scratch = str(tmp_path)
    r = sandboxed(platform, sys.executable, OPS, f"{scratch}/t", flags=BACKENDS[backend](scratch))
    assert r.code == 0, r
    expected = [KNOWN.get(line, line) for line in native_ops]
    assert r.out.decode().splitlines() == expected
