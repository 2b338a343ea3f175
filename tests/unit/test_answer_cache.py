"""Answers the C loop replays: which ones the sentry offers, the C tables, adoption of opens."""
from __future__ import annotations

import errno
import os
import types

import pytest

from runsc_py._interpose import ffi, lib
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.gofer import GoferFilesystem
from runsc_py.sentry.fs.overlay import OverlayFilesystem
from runsc_py.sentry.fs.tmpfs import TmpFilesystem
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.answer_cache import AnswerCache
from runsc_py.sentry.fdtable import FdTable
from runsc_py.sentry import files
from runsc_py.sentry.tasks import Credentials
from runsc_py.sentry.vfs import VFS
from tests.unit.gofer_server import gofer_for


class RecordingPlatform:
    def __init__(self):
        self.remembered: dict[tuple[int, bool, bytes], bytes | int] = {}
        self.pure: dict[int, int | None] = {}
        self.opens: dict[tuple[int, bytes, int], int] = {}

    def remember_stat(self, view, nofollow, path, packed, err=0):
        self.remembered[(view, nofollow, path)] = packed if packed is not None else err

    def remember_open(self, view, path, flags, host_fd, template):
        self.opens[(view, path, flags)] = template

    def mark_pure(self, nr, flags_arg=None):
        self.pure[nr] = flags_arg

    def forget_answers(self):
        self.opens.clear()
        self.forgotten = getattr(self, "forgotten", 0) + 1


TABLE = types.SimpleNamespace(rows={
    4: types.SimpleNamespace(name="stat"), 3: types.SimpleNamespace(name="close"),
    257: types.SimpleNamespace(name="openat"), 83: types.SimpleNamespace(name="mkdir")})


def process(uid: int = 0, root: str = "/", mntns=None):
    return types.SimpleNamespace(creds=Credentials.for_user(uid, uid),
                                 fs=types.SimpleNamespace(root=root, cwd="/"), fds=FdTable(),
                                 mntns=mntns)


@pytest.fixture
def sandbox_tree(tmp_path):
    lower = tmp_path / "rootfs"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    os.symlink("passwd", lower / "etc" / "link")
    (lower / "srv").mkdir()
    (lower / "bind").mkdir()
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "file").write_text("host")
    with gofer_for(str(lower)) as root_client, gofer_for(str(shared)) as bind_client:
        vfs = VFS()
        tmpfs = TmpFilesystem(dir_fd_source=lambda: os.open("/", os.O_RDONLY))
        vfs.mount("/", OverlayFilesystem(GoferFilesystem(root_client, readonly=True), tmpfs))
        vfs.mount("/bind", GoferFilesystem(bind_client, readonly=True))
        platform = RecordingPlatform()
        yield vfs, platform, AnswerCache(vfs, platform, TABLE)


def test_marks_the_pure_calls_and_readonly_opens(sandbox_tree):
    _vfs, platform, _cache = sandbox_tree
    assert platform.pure == {4: None, 3: None, 257: 2}   # mkdir flushes


def test_rootfs_files_dirs_symlinks_and_misses_are_offered(sandbox_tree):
    vfs, platform, cache = sandbox_tree
    p = process()
    view = cache.view_of(p)
    st = cache.stat(p, "/etc/passwd", follow=True)
    assert platform.remembered[(view, 0, b"/etc/passwd")] == st.pack()
    # statx's shape, with the mount's id as the Python answer has it
    mount_id = vfs.mount_of_dev(st.dev).mount_id
    assert platform.remembered[(view, 2, b"/etc/passwd")] == st.pack_statx(mount_id)
    cache.stat(p, "/etc", follow=True)
    cache.stat(p, "/etc/link", follow=False)
    assert (view, False, b"/etc") in platform.remembered
    assert (view, True, b"/etc/link") in platform.remembered
    with pytest.raises(SyscallError):
        cache.stat(p, "/etc/missing", follow=True)
    with pytest.raises(SyscallError):
        cache.stat(p, "/etc/passwd/x", follow=True)
    assert platform.remembered[(view, False, b"/etc/missing")] == errno.ENOENT
    assert platform.remembered[(view, 2, b"/etc/missing")] == errno.ENOENT    # statx
    assert platform.remembered[(view, False, b"/etc/passwd/x")] == errno.ENOTDIR


def test_files_the_workload_writes_natively_are_not_offered(sandbox_tree):
    vfs, platform, cache = sandbox_tree
    p = process()
    vfs.mount("/tmp", TmpFilesystem(dir_fd_source=lambda: os.open("/", os.O_RDONLY)))
    fs = vfs.mounts["/tmp"].fs
    os.close(fs.create("data", 0o644, 0, 0, os.O_RDWR).fd)
    cache.stat(p, "/tmp/data", follow=True)
    cache.stat(p, "/tmp", follow=True)
    # a copied-up rootfs file is a memfd now, like any tmpfs file
    vfs.mounts["/"].fs.copy_up("etc/passwd")
    cache.stat(p, "/etc/passwd", follow=True)
    offered = {key[2] for key in platform.remembered}
    assert offered == {b"/tmp"}


def test_walks_through_a_shared_host_mount_are_not_offered(sandbox_tree):
    _vfs, platform, cache = sandbox_tree
    p = process()
    cache.stat(p, "/bind/file", follow=True)
    with pytest.raises(SyscallError):
        cache.stat(p, "/bind/missing", follow=True)
    assert platform.remembered == {}


def test_views_separate_roots_and_unprivileged_searchers(sandbox_tree):
    _vfs, _platform, cache = sandbox_tree
    root, jailed, user, same_user = process(), process(root="/srv"), process(1000), process(1000)
    views = {cache.view_of(root), cache.view_of(jailed), cache.view_of(user)}
    assert len(views) == 3
    assert cache.view_of(same_user) == cache.view_of(user)
    assert cache.view_of(process()) == cache.view_of(root)


def _open(vfs, cache, proc, path: str, flags: int = os.O_RDONLY):
    file, fd = files.open_path(vfs, proc.creds, 0o22, "/", path, flags)
    cache.offer_open(proc, path, flags, file, fd)
    os.close(fd)
    return file


def test_readonly_opens_of_rootfs_files_are_offered(sandbox_tree):
    vfs, platform, cache = sandbox_tree
    p = process()
    view = cache.view_of(p)
    _open(vfs, cache, p, "/etc/passwd")
    _open(vfs, cache, p, "/etc/passwd", os.O_RDONLY | os.O_CLOEXEC)
    _open(vfs, cache, p, "/etc/passwd", os.O_RDWR)          # a copy-up: never
    _open(vfs, cache, p, "/bind/file")                      # a shared host mount: never
    assert set(platform.opens) == {(view, b"/etc/passwd", os.O_RDONLY),
                                   (view, b"/etc/passwd", os.O_RDONLY | os.O_CLOEXEC)}
    # one template per open: both keys name the same description
    assert len(set(platform.opens.values())) == 1


def test_no_open_is_offered_while_anything_is_watched(sandbox_tree):
    vfs, platform, cache = sandbox_tree
    instance, read_end = vfs.inotify.new()
    instance.add((vfs.mounts["/"].mount_id, "etc"), 0x20)   # IN_OPEN
    _open(vfs, cache, process(), "/etc/passwd")
    assert platform.opens == {}
    os.close(read_end)


def test_adopted_opens_enter_the_table_and_closes_quarantine(sandbox_tree):
    vfs, platform, cache = sandbox_tree
    p = process()
    file = _open(vfs, cache, p, "/etc/passwd")
    template = next(iter(platform.opens.values()))
    table = cache.table_id(p.fds)
    cache.adopt([(table, 5, template, True, 0), (table, 6, template, False, 0),
                 (table, 6, template, False, 4242)])
    assert p.fds.get(5).cloexec and p.fds.file(5).flags & os.O_CLOEXEC
    assert p.fds.file(5).path == file.path and p.fds.file(5) is not p.fds.file(6)
    assert 6 in p.fds.quarantine   # closed by tid 4242, natively: not free until it settles
    cache.adopt([(table + 100, 3, template, False, 0)])   # a table that is gone: ignored


def test_a_workload_cannot_make_the_sentry_remember_without_bound(sandbox_tree, monkeypatch):
    vfs, platform, cache = sandbox_tree
    monkeypatch.setattr("runsc_py.sentry.answer_cache.MAX_VIEWS", 3)
    monkeypatch.setattr("runsc_py.sentry.answer_cache.MAX_TEMPLATES", 4)
    views = [cache.view_of(types.SimpleNamespace(creds=Credentials.for_user(1000, 1000, (g,)),
                                                 fs=types.SimpleNamespace(root="/", cwd="/"), mntns=None))
             for g in range(6)]
    assert views[:3] == [1, 2, 3] and views[3:] == [0, 0, 0]   # 0: nothing replayed for it
    p = process()
    for spelling in ("/etc/passwd", "/etc//passwd", "/etc/./passwd", "//etc/passwd", "/./etc/passwd"):
        _open(vfs, cache, p, spelling)
    assert platform.forgotten == 1 and len(cache._files) == 1   # started afresh, C told first
    assert set(platform.opens) == {(cache.view_of(p), b"/./etc/passwd", os.O_RDONLY)}


# -- the C table ----------------------------------------------------------------

def _stat_bytes(size: int) -> bytes:
    return Stat(0o100644, 7, 0x101, 1, 0, 0, 0, size, 4096, 8, 0, 0, 0).pack()


def test_c_table_put_get_and_flush():
    out = ffi.new("char[]", lib.RP_STAT_SIZE)
    lib.rp_stat_cache_flush()
    assert lib.rp_stat_cache_get(9, 0, b"/etc/passwd", out) == -errno.ENOENT
    assert lib.rp_stat_cache_put(9, 0, b"/etc/passwd", _stat_bytes(42), 0) == 0
    assert lib.rp_stat_cache_put(9, 1, b"/nope", ffi.NULL, errno.ENOENT) == 0
    assert lib.rp_stat_cache_get(9, 0, b"/etc/passwd", out) == 0
    assert bytes(ffi.buffer(out, lib.RP_STAT_SIZE)) == _stat_bytes(42)
    assert lib.rp_stat_cache_get(8, 0, b"/etc/passwd", out) == -errno.ENOENT   # another view
    assert lib.rp_stat_cache_get(9, 1, b"/etc/passwd", out) == -errno.ENOENT   # lstat is not stat
    assert lib.rp_stat_cache_get(9, 1, b"/nope", out) == errno.ENOENT
    lib.rp_stat_cache_flush()
    assert lib.rp_stat_cache_get(9, 0, b"/etc/passwd", out) == -errno.ENOENT


def test_c_table_keeps_statx_answers_apart():
    out = ffi.new("char[]", lib.RP_STATX_SIZE)
    statx = bytes(range(256))
    assert lib.rp_stat_cache_put(9, lib.RP_FORM_STATX, b"/etc", statx, 0) == 0
    assert lib.rp_stat_cache_put(9, lib.RP_FORM_STAT, b"/etc", _stat_bytes(3), 0) == 0
    assert lib.rp_stat_cache_get(9, lib.RP_FORM_STATX, b"/etc", out) == 0
    assert bytes(ffi.buffer(out, lib.RP_STATX_SIZE)) == statx
    assert lib.rp_stat_cache_get(9, lib.RP_FORM_STATX | lib.RP_FORM_NOFOLLOW, b"/etc", out) == -errno.ENOENT
    assert lib.rp_stat_cache_put(9, 4, b"/etc", statx, 0) == -errno.EINVAL


def test_relative_answers_are_keyed_by_the_view_that_names_the_cwd(sandbox_tree):
    """A path relative to the cwd is remembered under the view that also
    names the cwd (none for a chroot'ed caller): another cwd, another answer."""
    vfs, platform, cache = sandbox_tree
    at_etc, at_root = process(), process()
    at_etc.fs.cwd = "/etc"
    assert cache.view_of(at_etc, here=True) not in (0, cache.view_of(at_etc),
                                                   cache.view_of(at_root, here=True))
    jailed = process(root="/etc")
    assert cache.view_of(jailed, here=True) == 0


def test_c_table_refuses_what_it_cannot_key():
    assert lib.rp_stat_cache_put(0, 0, b"/etc", _stat_bytes(1), 0) == -errno.EINVAL     # no view
    assert lib.rp_stat_cache_put(1, 0, b"", _stat_bytes(1), 0) == -errno.EINVAL         # no path
    assert lib.rp_stat_cache_put(1, 0, b"/" + b"a" * 300, _stat_bytes(1), 0) == -errno.EINVAL


def test_every_call_but_the_pure_ones_forgets():
    out = ffi.new("char[]", lib.RP_STAT_SIZE)
    lib.rp_stat_cache_set_pure(4, lib.RP_PURE_ALWAYS, 0)
    lib.rp_stat_cache_set_pure(257, lib.RP_PURE_READONLY_OPEN, 2)
    args = ffi.new("uint64_t[6]")

    def survives(nr: int, flags: int = 0) -> bool:
        lib.rp_stat_cache_put(3, 0, b"/etc", _stat_bytes(1), 0)
        args[2] = flags
        lib.rp_stat_cache_after_call(nr, args)
        return lib.rp_stat_cache_get(3, 0, b"/etc", out) == 0

    assert survives(4)
    assert survives(257, os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY)
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_TMPFILE | os.O_RDWR):
        assert not survives(257, flags)
    assert survives(lib.RP_NR_INSTALL)   # delivers an exec's fd: the exec was the call
    assert not survives(83)   # mkdir
    assert not survives(511)  # anything unmarked


def test_each_mount_namespace_is_a_view_of_its_own(sandbox_tree):
    """A path names other files in another mount namespace: no answer is shared."""
    vfs, platform, cache = sandbox_tree
    other = vfs.unshare(vfs.initial)
    assert cache.view_of(process()) == cache.view_of(process())
    assert cache.view_of(process(mntns=other)) != cache.view_of(process())
