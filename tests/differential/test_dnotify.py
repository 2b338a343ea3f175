"""Directory notification (fcntl F_NOTIFY) against Linux
(tests/programs/dnotify.py): sandboxed in a tmpfs, the memory overlay and a
bind mount; natively on a tmpfs over the scratch directory, in a private
mount namespace."""
import sys

import pytest

from tests.conftest import TESTS
from tests.differential.compare import FILE_BACKENDS, native_in_scratch, sandboxed_in_scratch

PROGRAM = str(TESTS / "programs" / "dnotify.py")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    result = native_in_scratch([sys.executable, PROGRAM], str(tmp_path_factory.mktemp("native")))
    assert result.code == 0 and b"one-shot create: ['SIGIO']" in result.out, result
    return result.out


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_dnotify_matches_linux(platform, backend, native, tmp_path):
    r = sandboxed_in_scratch(platform, [sys.executable, PROGRAM], backend, str(tmp_path))
    assert (r.code, r.out) == (0, native), r
