"""File capabilities on exec (security.capability), natively and sandboxed.

tests/programs/fcaps_exec.c copies itself with capability xattrs of each
kind (revision 2 and 3, effective or not, a set-uid-root file with them,
one asking more than the bounding set gives) and execs the copies as root
and as a user with and without inheritable, ambient and no_new_privs;
each copy prints its capability sets and AT_SECURE. The sentry reads the
xattr of a rootfs file through the fd the gofer opened, and keeps its own
for tmpfs files (sentry/exec.py, credentials.parse_file_caps).
"""
import os
import pathlib
import shutil
import tempfile

import pytest

from tests.conftest import run, sandboxed

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the native side must start as root to set file capabilities")


@pytest.fixture
def base():
    """A fresh directory a uid 1000 runner can reach: right under /tmp, not
    under pytest's own, which a concurrent pytest session makes 0700 again."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="runsc-py-fcaps-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def _same(native, inside):
    assert native.code == 0 and b"prm 2000 eff 2000" in native.out, native
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)


def test_file_caps_set_in_the_sandbox(platform, program, base):
    """setxattr by root (CAP_SETFCAP) on files of the sandbox's root (its
    overlay's tmpfs) and exec of them, as on Linux; a user may not set them."""
    exe = program("fcaps_exec")
    script = f'"{exe}" make "$1" && "{exe}" run "$1"'
    native = run(["sh", "-c", script, "sh", str(base / "native")])
    inside = sandboxed(platform, "sh", "-c", script, "sh", str(base / "inside"))
    _same(native, inside)
    assert not (base / "inside").exists()   # made in the sandbox's overlay, not on the host


def test_file_caps_of_rootfs_files(platform, program, base):
    """Files given capabilities on the host: read through the gofer's fd; a
    chmod in the sandbox copies the file up with its capabilities."""
    exe = program("fcaps_exec")
    made = run([exe, "make", str(base / "d")])
    assert made.code == 0, made
    script = f'chmod 0755 "$1"/raw-eff && "{exe}" run "$1"'
    native = run(["sh", "-c", script, "sh", str(base / "d")])
    _same(native, sandboxed(platform, exe, "run", str(base / "d")))
    _same(native, sandboxed(platform, "sh", "-c", script, "sh", str(base / "d")))


def test_file_caps_ignored_on_nosuid_mounts(platform, program, base):
    """`--tmpfs` mounts are nosuid; natively, a nosuid tmpfs in a private mount namespace."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    (base / "mnt").mkdir(mode=0o755)
    exe = program("fcaps_exec")
    native = run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                  f'mount -t tmpfs -o nosuid,mode=755 none "$1" && "{exe}" make "$1/d" && "{exe}" run "$1/d"',
                  "sh", str(base / "mnt")])
    inside = sandboxed(platform, "sh", "-c", f'"{exe}" make /scratch/d && "{exe}" run /scratch/d',
                       flags=("--tmpfs", "/scratch"))
    assert native.code == 0 and b"prm 2000" not in native.out, native
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)
