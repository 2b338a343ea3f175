"""Path resolution stays inside the sandbox's root."""
from tests.conftest import sandboxed


def test_dotdot_at_root_stays_at_root(platform, busybox):
    r = sandboxed(platform, busybox, "sh", "-c", "cd /../../..; pwd; ls /../../ | md5sum; ls / | md5sum")
    lines = r.out.decode().splitlines()
    assert lines[0] == "/" and lines[1] == lines[2], r


def test_symlinks_resolve_in_the_sandbox(platform, busybox, tmp_path):
    # an absolute link target means the sandbox's /, and ../.. past the root stops there
    (tmp_path / "up").symlink_to("../../../../../../../../etc/os-release")
    (tmp_path / "abs").symlink_to("/etc/os-release")
    r = sandboxed(platform, busybox, "sh", "-c", f"cat {tmp_path}/up {tmp_path}/abs")
    release = open("/etc/os-release", "rb").read()
    assert r.out == release * 2, r


def test_symlink_loops_end_in_eloop(platform, busybox, tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    r = sandboxed(platform, busybox, "sh", "-c", f"cat {tmp_path}/a")
    assert b"Symbolic link loop" in r.err or b"Too many levels" in r.err, r
