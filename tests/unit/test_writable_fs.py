"""The sentry's writable filesystems against the host kernel: the same
operations on the overlay (over a gofer-served lower directory), on a
writable gofer mount and on a tmpfs, and natively on a copy of the tree,
must give the same errors and leave the same tree; the overlay's lower
directory itself must never change.

Operations go through the sentry's own path layer (sentry/namei.py,
sentry/attrs.py, VFS resolution), so Linux's error order is checked too.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat as statmod

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runsc_py.sentry import attrs, files, namei
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.gofer import GoferFilesystem
from runsc_py.sentry.fs.overlay import OverlayFilesystem
from runsc_py.sentry.fs.tmpfs import TmpFilesystem
from runsc_py.sentry.tasks import Credentials
from runsc_py.sentry.vfs import RENAME_EXCHANGE, RENAME_NOREPLACE, VFS
from tests.unit.gofer_server import gofer_for

ROOT = Credentials()
PATHS = ["a", "a/b", "a/b/c", "a/f", "a/b/g", "d", "d/e", "f", "g", "l", "dl", "x", "a/x", "d/x"]


def make_lower(root: str) -> None:
    os.makedirs(f"{root}/a/b")
    os.makedirs(f"{root}/d/e")
    for path, data in (("a/f", b"lower a/f\n"), ("a/b/g", b"g" * 5000), ("f", b"top f\n")):
        with open(f"{root}/{path}", "wb") as f:
            f.write(data)
    os.symlink("a/f", f"{root}/l")
    os.symlink("d", f"{root}/dl")
    os.chmod(f"{root}/a/f", 0o640)


def snapshot(root: str) -> dict:
    """Every name under root: type, permission bits, bytes or link target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st_ = os.lstat(path)
            if statmod.S_ISLNK(st_.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif statmod.S_ISDIR(st_.st_mode):
                out[rel] = ("dir", st_.st_mode & 0o7777)
            else:
                with open(path, "rb") as f:
                    out[rel] = ("file", st_.st_mode & 0o7777, f.read())
    return out


def overlay_snapshot(vfs: VFS) -> dict:
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        for _ino, _dtype, name in vfs.mounts["/"].fs.readdir(rel):
            path = f"{rel}/{name.decode()}" if rel else name.decode()
            res = vfs.resolve("/", "/" + path, follow=False)
            if res.target is not None:
                out[path] = ("link", res.target)
            elif statmod.S_ISDIR(res.stat.mode):
                out[path] = ("dir", res.stat.mode & 0o7777)
                stack.append(path)
            else:
                fd = vfs.resolve("/", "/" + path, follow=False, open_flags=os.O_RDONLY).fd
                try:
                    data = os.pread(fd, 1 << 20, 0)
                finally:
                    os.close(fd)
                out[path] = ("file", res.stat.mode & 0o7777, data)
    return out


def native(fn):
    try:
        fn()
        return 0
    except OSError as exc:
        return exc.errno


def sandboxed(fn):
    try:
        fn()
        return 0
    except SyscallError as exc:
        return exc.errno


def write_native(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def write_overlay(vfs: VFS, path: str, data: bytes) -> None:
    _file, fd = files.open_path(vfs, ROOT, 0o022, "/", path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


path_st = st.sampled_from(PATHS)
OPS = st.one_of(
    st.tuples(st.just("mkdir"), path_st),
    st.tuples(st.just("mknod"), path_st),
    st.tuples(st.just("write"), path_st, st.binary(max_size=64)),
    st.tuples(st.just("unlink"), path_st),
    st.tuples(st.just("rmdir"), path_st),
    st.tuples(st.just("rename"), path_st, path_st, st.sampled_from([0, RENAME_NOREPLACE, RENAME_EXCHANGE])),
    st.tuples(st.just("symlink"), path_st, st.sampled_from(["a", "f", "d/../f", "nowhere", "d/e"])),
    st.tuples(st.just("link"), path_st, path_st),
    st.tuples(st.just("chmod"), path_st, st.sampled_from([0o600, 0o755, 0o1777, 0o4755])),
    st.tuples(st.just("truncate"), path_st, st.integers(0, 6000)),
)


def apply(op, vfs: VFS, mirror: str) -> tuple[int, int]:
    """Run one operation both ways; returns (native errno, overlay errno)."""
    kind, p = op[0], op[1]
    m, v = f"{mirror}/{p}", f"/{p}"
    if kind == "mkdir":
        return (native(lambda: os.mkdir(m, 0o755)),
                sandboxed(lambda: namei.mkdir(vfs, ROOT, "/", v, 0o755)))
    if kind == "mknod":
        return (native(lambda: os.mknod(m, statmod.S_IFREG | 0o644)),
                sandboxed(lambda: namei.mknod(vfs, ROOT, "/", v, statmod.S_IFREG | 0o644, 0)))
    if kind == "write":
        return native(lambda: write_native(m, op[2])), sandboxed(lambda: write_overlay(vfs, v, op[2]))
    if kind == "unlink":
        return native(lambda: os.unlink(m)), sandboxed(lambda: namei.unlink(vfs, ROOT, "/", v))
    if kind == "rmdir":
        return native(lambda: os.rmdir(m)), sandboxed(lambda: namei.rmdir(vfs, ROOT, "/", v))
    if kind == "rename":
        q, flags = op[2], op[3]
        libc_rename = _renameat2()
        return (native(lambda: libc_rename(m, f"{mirror}/{q}", flags)),
                sandboxed(lambda: namei.rename(vfs, ROOT, "/", v, "/", f"/{q}", flags)))
    if kind == "symlink":
        return (native(lambda: os.symlink(op[2], m)),
                sandboxed(lambda: namei.symlink(vfs, ROOT, "/", v, op[2])))
    if kind == "link":
        q = op[2]
        return (native(lambda: os.link(m, f"{mirror}/{q}", follow_symlinks=False)),
                sandboxed(lambda: namei.link(vfs, ROOT, "/", v, "/", f"/{q}", follow=False)))
    if kind == "chmod":
        return (native(lambda: os.chmod(m, op[2])),
                sandboxed(lambda: attrs.chmod(ROOT, attrs.by_path(vfs, "/", v, True), op[2])))
    if kind == "truncate":
        return (native(lambda: os.truncate(m, op[2])),
                sandboxed(lambda: attrs.truncate(ROOT, attrs.by_path(vfs, "/", v, True), op[2])))
    raise AssertionError(kind)


def _renameat2():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def rename(old: str, new: str, flags: int) -> None:
        if libc.renameat2(-100, os.fsencode(old), -100, os.fsencode(new), flags) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    return rename


@pytest.fixture(scope="module")
def lower(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("lower"))
    make_lower(root)
    with gofer_for(root) as client:
        yield root, client


def new_tmpfs() -> TmpFilesystem:
    return TmpFilesystem(dir_fd_source=lambda: os.open("/", os.O_RDONLY))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=12))
def test_overlay_behaves_like_a_directory_and_never_writes_below(lower, tmp_path_factory, ops):
    root, client = lower
    before = snapshot(root)
    mirror = str(tmp_path_factory.mktemp("mirror"))
    shutil.rmtree(mirror)
    shutil.copytree(root, mirror, symlinks=True)
    vfs = VFS()
    vfs.mount("/", OverlayFilesystem(GoferFilesystem(client, readonly=True), new_tmpfs()))
    run_against_kernel(ops, vfs, mirror)
    assert snapshot(root) == before
    shutil.rmtree(mirror)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=12))
def test_writable_gofer_mount_behaves_like_a_directory(lower, tmp_path_factory, ops):
    """--overlay=none on a writable root, or a writable bind mount: the gofer changes a host tree."""
    root, _client = lower
    served, mirror = (str(tmp_path_factory.mktemp(n)) for n in ("served", "mirror"))
    for copy in (served, mirror):
        shutil.rmtree(copy)
        shutil.copytree(root, copy, symlinks=True)
    with gofer_for(served, readonly=False) as client:
        vfs = VFS()
        vfs.mount("/", GoferFilesystem(client, readonly=False))
        run_against_kernel(ops, vfs, mirror)
    assert snapshot(served) == snapshot(mirror)
    shutil.rmtree(served)
    shutil.rmtree(mirror)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=12))
def test_tmpfs_behaves_like_a_directory(tmp_path_factory, ops):
    mirror = str(tmp_path_factory.mktemp("mirror"))
    vfs = VFS()
    vfs.mount("/", new_tmpfs())
    run_against_kernel(ops, vfs, mirror)
    shutil.rmtree(mirror)


def run_against_kernel(ops, vfs: VFS, mirror: str) -> None:
    for op in ops:
        want, got = apply(op, vfs, mirror)
        assert (op, got) == (op, want)
        assert overlay_snapshot(vfs) == snapshot(mirror), op


def test_copied_up_file_keeps_its_inode_number(lower):
    root, client = lower
    vfs = VFS()
    vfs.mount("/", OverlayFilesystem(GoferFilesystem(client, readonly=True), new_tmpfs()))
    before = vfs.resolve("/", "/a/f").stat.ino
    assert before == os.stat(f"{root}/a/f").st_ino
    attrs.chmod(ROOT, attrs.by_path(vfs, "/", "/a/f", True), 0o600)
    after = vfs.resolve("/", "/a/f").stat
    assert after.ino == before and after.mode & 0o777 == 0o600
    assert os.stat(f"{root}/a/f").st_mode & 0o777 == 0o640


def test_renaming_a_lower_directory_moves_its_whole_tree(lower):
    _root, client = lower
    vfs = VFS()
    vfs.mount("/", OverlayFilesystem(GoferFilesystem(client, readonly=True), new_tmpfs()))
    namei.rename(vfs, ROOT, "/", "/a", "/", "/moved", 0)
    assert vfs.resolve("/", "/moved/b/g").stat.size == 5000
    with pytest.raises(SyscallError) as exc:
        vfs.resolve("/", "/a/f")
    assert exc.value.errno == errno.ENOENT
    namei.mkdir(vfs, ROOT, "/", "/a", 0o755)  # a new directory there is empty (opaque)
    assert vfs.mounts["/"].fs.readdir("a") == []


class _CountingClient:
    """A GoferClient that counts its lookups (round trips)."""

    def __init__(self, client):
        self.client, self.lookups = client, 0

    def lookup(self, *args, **kw):
        self.lookups += 1
        return self.client.lookup(*args, **kw)

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_links_on_the_way_and_missing_paths_are_remembered(tmp_path):
    """A merged-/usr root's /bin link and a missing /etc/ld.so.preload cost one
    round trip each, not one per exec; a change through the gofer forgets them."""
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "prog").write_bytes(b"\x7fELF")
    (root / "etc").mkdir()
    os.symlink("usr/bin", root / "bin")
    with gofer_for(str(root), readonly=False) as client:
        counting = _CountingClient(client)
        vfs = VFS()
        vfs.mount("/", GoferFilesystem(counting, readonly=False))
        for _ in range(3):
            res = vfs.resolve("/", "/bin/prog", open_flags=os.O_RDONLY)
            os.close(res.fd)
            assert res.path == "/usr/bin/prog"
            with pytest.raises(SyscallError) as missing:
                vfs.resolve("/", "/etc/ld.so.preload")
            assert missing.value.errno == errno.ENOENT
        first = counting.lookups
        assert first <= 4, first   # bin -> link, usr/bin/prog, etc/ld.so.preload (+ the root)
        _file, fd = files.open_path(vfs, ROOT, 0o022, "/", "/etc/ld.so.preload",
                                    os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)
        assert vfs.resolve("/", "/etc/ld.so.preload").path == "/etc/ld.so.preload"
        namei.unlink(vfs, ROOT, "/", "/bin")
        namei.symlink(vfs, ROOT, "/", "/bin", "/etc")
        assert vfs.resolve("/", "/bin/ld.so.preload").path == "/etc/ld.so.preload"
