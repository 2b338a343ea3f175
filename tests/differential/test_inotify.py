"""inotify in the sandbox against Linux: the same events, in the same order."""
import pathlib
import sys

import pytest

from tests.conftest import run, sandboxed

PROGRAM = str(pathlib.Path(__file__).parent.parent / "programs" / "fs" / "inotify_events.py")
BACKENDS = {"tmpfs": lambda d: ("--tmpfs", d), "overlay": lambda d: (), "bind": lambda d: ("-v", f"{d}:{d}")}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_inotify_events_match_linux(platform, backend, tmp_path):
    native_dir, sandbox_dir = tmp_path / "n", tmp_path / "s"
    native_dir.mkdir()
    sandbox_dir.mkdir()
    native = run([sys.executable, PROGRAM, str(native_dir)])
    inside = sandboxed(platform, sys.executable, PROGRAM, str(sandbox_dir),
                       flags=BACKENDS[backend](str(sandbox_dir)))
    assert native.code == 0 and b"CREATE a" in native.out, native
    assert (inside.code, inside.out) == (0, native.out), (native, inside)
