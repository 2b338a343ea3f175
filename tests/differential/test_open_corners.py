"""Naming and opening corners against Linux (tests/programs/fs/open_corners.py):
paths ending in "." or "..", absolute paths beside a bad dirfd,
O_RDONLY|O_TRUNC, access mode 3, O_DIRECT on a directory, statx's checks
and mount id, futimens of an unlinked file and fs.protected_hardlinks.
Sandboxed on every file backend; natively in a private mount namespace,
on a tmpfs over the scratch directory."""
import sys

import pytest

from tests.conftest import TESTS
from tests.differential.compare import FILE_BACKENDS, native_in_scratch, sandboxed_in_scratch

PROGRAM = str(TESTS / "programs" / "fs" / "open_corners.py")


def _lines(out: bytes, scratch: str) -> list[str]:
    return out.decode().replace(scratch, "SCRATCH").splitlines()


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    scratch = str(tmp_path_factory.mktemp("native"))
    result = native_in_scratch([sys.executable, PROGRAM], scratch)
    assert result.code == 0, result
    lines = _lines(result.out, scratch)
    assert "O_RDONLY|O_TRUNC: 0" in lines and "uid 1000 links private: EPERM" in lines, lines
    return lines


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_open_corners_match_linux(platform, backend, native, tmp_path):
    scratch = str(tmp_path)
    r = sandboxed_in_scratch(platform, [sys.executable, PROGRAM], backend, scratch)
    assert r.code == 0, r
    assert _lines(r.out, scratch) == native, r.err
