"""A compromised sentry driving the gofer directly cannot reach outside the root.

The protocol says paths never hold "." or ".." and never start with "/";
a hostile sentry need not obey. Requests of every kind, with paths made of
"..", absolute paths and names of symlinks planted inside the root that
point out of it, must neither open nor change anything outside the root:
every fd the gofer hands back is a file beneath the root, and a tree beside
the root stays exactly as it was.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat as statmod

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runsc_py.gofer import protocol as p
from runsc_py.gofer.server import Gofer

PARTS = ["..", "", "out", "abs", "etc", "passwd", "inside", "victim", "file", "/", ".", "rel-out"]
OPS = [p.LOOKUP, p.READDIR, p.CREATE, p.MKDIR, p.MKNOD, p.MKSYMLINK, p.LINK, p.UNLINK, p.RMDIR,
       p.RENAME, p.SETATTR, p.TMPFILE]


def digest(top: str) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [""] + dirnames + filenames:
            path = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(path)
            entry = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns)
            if statmod.S_ISREG(st.st_mode):
                entry += (hashlib.sha256(open(path, "rb").read()).hexdigest(),)
            elif statmod.S_ISLNK(st.st_mode):
                entry += (os.readlink(path),)
            out[path] = entry
    return out


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """root/ (served, writable) beside victim/ (must never change)."""
    top = tmp_path_factory.mktemp("arena")
    root, victim = top / "root", top / "victim"
    (root / "inside").mkdir(parents=True)
    (root / "inside" / "file").write_text("mine\n")
    (victim / "etc").mkdir(parents=True)
    (victim / "etc" / "passwd").write_text("secret\n")
    return str(root), str(victim)


def plant_links(root: str, victim: str) -> None:
    """The links out of the root an attack walks through (earlier requests may have removed them)."""
    for name, target in (("out", "/"), ("abs", f"{victim}/etc"), ("rel-out", "../../victim")):
        path = os.path.join(root, name)
        if os.path.lexists(path) and not os.path.islink(path):
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        if not os.path.lexists(path):
            os.symlink(target, path)


def beneath(fd: int, root: str) -> bool:
    """Is the file behind fd inside root (by device and inode of its path's ancestors)?"""
    target = os.readlink(f"/proc/self/fd/{fd}")
    real_root = os.path.realpath(root)
    return target == real_root or target.startswith(real_root + "/") or target.startswith("/memfd:") \
        or "(deleted)" in target and target.startswith(real_root)


paths = st.lists(st.sampled_from(PARTS), min_size=0, max_size=5).map("/".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(OPS), path=paths, second=paths, flags=st.sampled_from(
    [-1, os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_RDONLY | os.O_DIRECTORY]))
def test_hostile_requests_stay_beneath_the_root(arena, op, path, second, flags):
    root, victim = arena
    plant_links(root, victim)
    before = digest(victim)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    gofer = Gofer(root_fd, readonly=False)
    head = b""
    if op in (p.CREATE, p.TMPFILE, p.MKDIR, p.MKNOD, p.MKSYMLINK):
        head = p.OWNER.pack(0, 0)
    elif op == p.SETATTR:
        head = p.ATTRS.pack(p.ATTR_MODE | p.ATTR_SIZE, 0o777, 0, 0, 0, 0, 0)
    arg = statmod.S_IFIFO | 0o600 if op == p.MKNOD else 0o600
    request = p.pack_request(op, path, flags if op != p.CREATE else os.O_RDWR, arg, head=head,
                             second=second if op in (p.LINK, p.RENAME, p.MKSYMLINK) else None)
    fds: list[int] = []
    try:
        gofer.handle(request, fds)
    except OSError:
        pass
    try:
        for fd in fds:
            assert beneath(fd, root), (op, path, second, os.readlink(f"/proc/self/fd/{fd}"))
    finally:
        for fd in fds:
            os.close(fd)
        os.close(root_fd)
    assert digest(victim) == before, (op, path, second)
