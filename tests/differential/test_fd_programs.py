"""Two Python programs against Linux, natively in a private mount namespace
on a tmpfs, sandboxed on each kind of scratch directory:

- tests/programs/fs/dup_numbers.py: the numbers, close-on-exec flags and
  shared descriptions dup, dup2, dup3 and F_DUPFD give, alone in a process
  (where the host runs the call: syscalls/file.py's _dup_to), beside an
  O_PATH fd and with a second thread (where the sentry installs the copy),
  and their errors;
- tests/programs/fs/listing_after_changes.py: a change made between a
  directory's open and its first getdents64 shows, although the gofer lists
  a directory with the open that reads it (sentry/fs/gofer.py)."""
import pytest

from tests.differential.compare import (FILE_BACKENDS, native_output, python_program,
                                        sandboxed_in_scratch)

# program: what its output ends with
PROGRAMS = {"fs/dup_numbers.py": b"dup until EMFILE", "fs/listing_after_changes.py": b"read twice"}


@pytest.fixture(scope="module", params=sorted(PROGRAMS))
def reference(request, tmp_path_factory):
    """(argv, its native output)."""
    argv = python_program(request.param)
    return argv, native_output(argv, str(tmp_path_factory.mktemp("native")), PROGRAMS[request.param])


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_program_matches_linux(platform, backend, reference, tmp_path):
    argv, native = reference
    r = sandboxed_in_scratch(platform, argv, backend, str(tmp_path))
    assert (r.code, r.out) == (0, native), r
