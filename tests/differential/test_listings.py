"""Directory listings against Linux (tests/programs/fs/listing_after_changes.py):
a change made between a directory's open and its first getdents64 shows,
although the gofer lists a directory with the open that reads it."""
import sys

import pytest

from tests.differential.compare import FILE_BACKENDS, native_in_scratch, sandboxed_in_scratch

PROGRAM = [sys.executable, __file__.rsplit("/", 2)[0] + "/programs/fs/listing_after_changes.py"]


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    result = native_in_scratch(PROGRAM, str(tmp_path_factory.mktemp("native")))
    assert result.code == 0 and b"read twice" in result.out, result
    return result.out


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_listing_after_changes_matches_linux(platform, backend, native, tmp_path):
    r = sandboxed_in_scratch(platform, PROGRAM, backend, str(tmp_path))
    assert (r.code, r.out) == (0, native), r
