"""O_TMPFILE files against Linux: linking them (AT_EMPTY_PATH, /proc/self/fd),
O_EXCL's refusal, and their bytes going at the last close.

The native side runs on a tmpfs mounted in a private mount namespace of its
own (`unshare -m`), over the test's scratch directory, so that it can print
how much of the filesystem closed unnamed files still hold; the sandbox's
side runs on a `--tmpfs` mount (with that check), on the overlay root and on
a bind mount.
"""
import pathlib
import shutil
import sys

import pytest

from tests.conftest import run, sandboxed

PROGRAM = str(pathlib.Path(__file__).parent.parent / "programs" / "fs" / "tmpfile.py")
BACKENDS = {
    "tmpfs": lambda d: ("--tmpfs", d),
    "overlay": lambda d: (),
    "bind": lambda d: ("-v", f"{d}:{d}"),
}


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    scratch = tmp_path_factory.mktemp("native")
    result = run(["unshare", "-m", "sh", "-c", 'mount -t tmpfs tmpfs "$1" && exec "$2" "$3" "$1/t" space',
                  "sh", str(scratch), sys.executable, PROGRAM])
    if result.code != 0 and b"mount" in result.err:
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace: {result.err!r}")
    assert result.code == 0, result
    return result.out.decode().splitlines()


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_tmpfile_matches_linux(platform, backend, native, tmp_path):
    scratch = str(tmp_path)
    space = ("space",) if backend == "tmpfs" else ()
    r = sandboxed(platform, sys.executable, PROGRAM, f"{scratch}/t", *space,
                  flags=BACKENDS[backend](scratch))
    assert r.code == 0, r
    expected = native if space else [line for line in native if "MiB" not in line]
    assert r.out.decode().splitlines() == expected
