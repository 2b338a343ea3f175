"""Terminal, inotify and socket ioctls against Linux (tests/programs/ioctls.py):
TCGETS2/TCSETS2, TIOCGPTPEER, FIONREAD on inotify, a socket's owner. Natively in a private
mount namespace on a tmpfs; sandboxed on its tmpfs and overlay."""
import sys

import pytest

from tests.conftest import TESTS
from tests.differential.compare import native_in_scratch, sandboxed_in_scratch

PROGRAM = str(TESTS / "programs" / "ioctls.py")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    result = native_in_scratch([sys.executable, PROGRAM], str(tmp_path_factory.mktemp("native")))
    assert result.code == 0 and b"FIONREAD, two events: " in result.out, result
    return result.out


@pytest.mark.parametrize("backend", ["tmpfs", "overlay"])
def test_ioctls_match_linux(platform, backend, native, tmp_path):
    r = sandboxed_in_scratch(platform, [sys.executable, PROGRAM], backend, str(tmp_path))
    assert (r.code, r.out) == (0, native), r
