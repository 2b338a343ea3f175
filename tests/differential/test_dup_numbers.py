"""dup, dup2, dup3 and F_DUPFD against Linux (tests/programs/fs/dup_numbers.py):
the numbers, close-on-exec flags and shared descriptions they give, alone in
a process (where the host runs the call: syscalls/file.py's _dup_to), beside
an O_PATH fd and with a second thread (where the sentry installs the copy),
and their errors. Natively in a private mount namespace on a tmpfs."""

import pytest

from tests.differential.compare import (FILE_BACKENDS, native_output, python_program,
                                        sandboxed_in_scratch)

PROGRAM = python_program("fs/dup_numbers.py")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    return native_output(PROGRAM, str(tmp_path_factory.mktemp("native")), b"dup until EMFILE")


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_dup_numbers_match_linux(platform, backend, native, tmp_path):
    r = sandboxed_in_scratch(platform, PROGRAM, backend, str(tmp_path))
    assert (r.code, r.out) == (0, native), r
