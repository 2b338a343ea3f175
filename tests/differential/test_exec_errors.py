"""execve's failures, natively and sandboxed (tests/programs/exec_errors.py).

The sentry resolves and checks the program (EACCES, ENOEXEC, ENOENT,
ENOTDIR, ELOOP, `#!` lines); the host's execveat by fd enforces the rest
on the same inode (ETXTBSY, E2BIG: a quarter of RLIMIT_STACK in all, and
MAX_ARG_STRLEN, 128 KiB, per string). Programs are copied into the
sandbox's root, whose changes live in a tmpfs.
"""
import os
import pathlib
import uuid

import pytest

from tests.conftest import PROGRAMS, run, sandboxed
from tests.differential.compare import shell_status

EXEC_ERRORS = str(PROGRAMS / "exec_errors.py")


@pytest.mark.skipif(os.geteuid() != 0, reason="some cases run as another user")
def test_exec_errors(platform):
    where = f"/tmp/exec-errors-{uuid.uuid4().hex[:8]}"
    native = run(["python3", EXEC_ERRORS, where])
    assert not pathlib.Path(where).exists()
    inside = sandboxed(platform, "python3", EXEC_ERRORS, where)
    assert native.code == 0, native
    assert b"open for writing: ETXTBSY" in native.out, native
    assert (inside.code, inside.out, inside.err) == (shell_status(native.code), native.out, native.err)
