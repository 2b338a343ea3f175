"""With --overlay=none the root is the host's, read-only: every way of writing
fails with EROFS and the host is unchanged. (The default overlay root takes
the writes in memory instead: tests/security/test_overlay_isolation.py.)"""
import os

import pytest

from tests.conftest import sandboxed

O_WRONLY_CREAT = str(os.O_WRONLY | os.O_CREAT)
READ_ONLY = ("--overlay=none",)


@pytest.fixture
def victim(tmp_path):
    """A host path that must not exist after the test (and a file next to it)."""
    existing = tmp_path / "existing"
    existing.write_text("original\n")
    return tmp_path / "created", existing


def test_shell_writes_fail(platform, busybox, victim):
    created, existing = victim
    script = (f"echo x > {created}; touch {created}; mkdir {created}; echo y >> {existing}; "
              f"rm {existing}; mv {existing} {created}; ln -s / {created}; chmod 777 {existing}; true")
    r = sandboxed(platform, busybox, "sh", "-c", script, flags=READ_ONLY)
    assert r.err.count(b"Read-only file system") >= 7, r.err
    assert not created.exists() and not created.is_symlink()
    assert existing.read_text() == "original\n"
    assert existing.stat().st_mode & 0o777 != 0o777


def test_open_for_writing_is_erofs(platform, program, victim):
    created, existing = victim
    for path in (created, existing):
        r = sandboxed(platform, program("sys"), "2", f"str:{path}", O_WRONLY_CREAT, "0644",
                      flags=READ_ONLY)
        assert r.out == b"ret=-1 errno=30\n", (path, r)
    assert not created.exists()


def test_errors_linux_gives_before_erofs(platform, program):
    # a missing parent is ENOENT, an existing target of mkdir is EEXIST
    def call(*argv):
        return sandboxed(platform, program("sys"), *argv, flags=READ_ONLY).out

    assert call("83", "str:/no/such/dir", "0755") == b"ret=-1 errno=2\n"
    assert call("83", "str:/etc", "0755") == b"ret=-1 errno=17\n"
    assert call("87", "str:/no/such") == b"ret=-1 errno=2\n"
