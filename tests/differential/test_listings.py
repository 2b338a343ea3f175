"""Directory listings against Linux (tests/programs/fs/listing_after_changes.py):
a change made between a directory's open and its first getdents64 shows,
although the gofer lists a directory with the open that reads it."""

import pytest

from tests.differential.compare import (FILE_BACKENDS, native_output, python_program,
                                        sandboxed_in_scratch)

PROGRAM = python_program("fs/listing_after_changes.py")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    return native_output(PROGRAM, str(tmp_path_factory.mktemp("native")), b"read twice")


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_listing_after_changes_matches_linux(platform, backend, native, tmp_path):
    r = sandboxed_in_scratch(platform, PROGRAM, backend, str(tmp_path))
    assert (r.code, r.out) == (0, native), r
