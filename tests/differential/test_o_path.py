"""O_PATH fds in the sandbox against Linux (their host fd is a placeholder)."""
import pathlib
import sys

from tests.conftest import run, sandboxed

PROGRAM = str(pathlib.Path(__file__).parent.parent / "programs" / "fs" / "o_path.py")


def test_o_path_matches_linux(platform, tmp_path):
    (tmp_path / "n").mkdir()
    (tmp_path / "s").mkdir()
    native = run([sys.executable, PROGRAM, str(tmp_path / "n")])
    inside = sandboxed(platform, sys.executable, PROGRAM, str(tmp_path / "s"))
    assert native.code == 0, native
    assert (inside.code, inside.out.replace(b"/s/", b"/n/").replace(b"/s\n", b"/n\n")) == \
        (0, native.out), (native, inside)
