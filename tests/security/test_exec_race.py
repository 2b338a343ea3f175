"""The exec rewrite cannot be raced into running a file the sentry never vetted.

The sentry answers an exec by making the caller run execveat(fd, "",
AT_EMPTY_PATH) on the file it resolved and checked; the "" is a NUL byte
of the caller's memory. A second thread that writes a path over that byte
at the right moment makes the kernel exec by path instead (about one try
in ten here). The sentry compares the exec'd inode with the one it opened
at the exec event stop, before the image runs, and kills a task that exec'd
anything else: /bin/ls never lists the directory holding PWNED.
"""
import os

from tests.conftest import TESTS, sandboxed

TRIES = "400"


def test_a_raced_exec_never_runs_another_file(platform, program, tmp_path):
    (tmp_path / "PWNED").touch()
    exe = program("exec_race")
    r = sandboxed(platform, exe, TRIES, cwd=tmp_path, timeout=240,
                  env=dict(os.environ, PYTHONPATH=str(TESTS.parent)))
    assert r.code == 0, r
    assert b"PWNED" not in r.out, r
    assert r.out.startswith(b"vetted-or-ls "), r
