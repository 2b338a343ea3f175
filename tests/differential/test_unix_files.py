"""A unix socket bound to a path is a socket file in the sandbox's VFS, as on Linux:
stat and ls see it, connect finds it (through symlinks too), unlink ends it."""
import pathlib
import sys

import pytest

from tests.conftest import run, sandboxed

PROGRAM = str(pathlib.Path(__file__).parent.parent / "programs" / "net" / "unix_file.py")
BACKENDS = {"overlay": lambda d: (), "tmpfs": lambda d: ("--tmpfs", d), "bind": lambda d: ("-v", f"{d}:{d}")}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_unix_socket_files_match_linux(platform, backend, tmp_path):
    (tmp_path / "n").mkdir()
    (tmp_path / "s").mkdir()
    native = run([sys.executable, PROGRAM, str(tmp_path / "n")])
    scratch = str(tmp_path / "s")
    inside = sandboxed(platform, sys.executable, PROGRAM, scratch, flags=BACKENDS[backend](scratch))
    assert native.code == 0 and b"got b'over a path'" in native.out, native
    assert (inside.code, inside.out) == (0, native.out), (native, inside)
