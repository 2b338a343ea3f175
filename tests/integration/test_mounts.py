"""Mounts a sandbox is given: bind mounts (the one way a write reaches the host),
tmpfs mounts, and clear errors for mounts that cannot be made."""
import os

from tests.conftest import sandboxed


def test_writable_bind_reaches_the_host(platform, busybox, tmp_path):
    (tmp_path / "in").write_text("from host\n")
    script = ("cat /work/in; echo out > /work/out; mkdir /work/d; mv /work/in /work/d/in; "
              "ln -s in /work/d/l; chmod 700 /work/d; rm /work/out; echo new > /work/new")
    r = sandboxed(platform, busybox, "sh", "-c", script, flags=("-v", f"{tmp_path}:/work"))
    assert (r.code, r.out) == (0, b"from host\n"), r
    assert (tmp_path / "d" / "in").read_text() == "from host\n"
    assert os.readlink(tmp_path / "d" / "l") == "in"
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "new").read_text() == "new\n" and not (tmp_path / "out").exists()


def test_read_only_bind_and_file_bind(platform, busybox, tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "f").write_text("keep\n")
    single = tmp_path / "single"
    single.write_text("one file\n")
    r = sandboxed(platform, busybox, "sh", "-c",
                  "cat /ro/f /etc/single; echo x > /ro/f; echo y > /etc/single; rm /ro/f; ls /ro",
                  flags=("-v", f"{tmp_path / 'dir'}:/ro:ro", "-v", f"{single}:/etc/single:ro"))
    assert r.out == b"keep\none file\nf\n", r
    assert r.err.count(b"Read-only file system") == 3, r
    assert (tmp_path / "dir" / "f").read_text() == "keep\n" and single.read_text() == "one file\n"


def test_tmpfs_mount_is_empty_and_private(platform, busybox, tmp_path):
    (tmp_path / "hidden").write_text("host file\n")
    r = sandboxed(platform, busybox, "sh", "-c",
                  f"ls -A {tmp_path}; echo x > {tmp_path}/made; cat {tmp_path}/made; stat -f -c %T {tmp_path}",
                  flags=("--tmpfs", str(tmp_path)))
    assert r.out == b"x\ntmpfs\n", r
    assert not (tmp_path / "made").exists()


def test_bad_mounts_are_clear_errors(platform, busybox, tmp_path):
    r = sandboxed(platform, busybox, "true", flags=("-v", f"{tmp_path}/missing:/x"))
    assert r.code == 2 and b"does not exist" in r.err, r
    r = sandboxed(platform, busybox, "true", flags=("-v", "nocolon"))
    assert r.code == 2 and b"expected SRC:DST" in r.err, r
