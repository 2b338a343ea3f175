"""The sentry's path resolver against the kernel's own: RESOLVE_IN_ROOT is the oracle.

openat2(root, path, RESOLVE_IN_ROOT) resolves exactly as the sandbox must:
absolute symlinks mean the sandbox's root and ".." stops there. The VFS,
going through a real gofer, must agree with it on every path: the same
file (inode), or the same errno.
"""
import errno
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from runsc_py._interpose import lib
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.gofer import GoferFilesystem
from runsc_py.sentry.vfs import VFS
from tests.unit.gofer_server import gofer_for

RESOLVE_IN_ROOT = 0x10
NAMES = ["d", "e", "f", "up", "abs", "loop", "dl", "fl", "missing", ".", ".."]


def make_tree(root: str) -> None:
    """d/ e/ (in d) f (file), and links of every kind the resolver must splice."""
    os.makedirs(f"{root}/d/e")
    open(f"{root}/d/f", "w").close()
    open(f"{root}/f", "w").close()
    os.symlink("../..", f"{root}/d/up")            # climbs past the root
    os.symlink("/d/e", f"{root}/d/abs")            # absolute: the sandbox's /d/e
    os.symlink("loop", f"{root}/d/loop")           # ELOOP
    os.symlink("d", f"{root}/dl")                  # to a directory
    os.symlink("f", f"{root}/d/fl")                # to a file
    os.symlink("/d/up/d/abs/../f", f"{root}/d/e/f")  # chains of links and ..


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("tree"))
    make_tree(root)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    with gofer_for(root) as client:
        vfs = VFS()
        vfs.mount("/", GoferFilesystem(client, readonly=True), readonly=True)
        yield vfs, root_fd
    os.close(root_fd)


def kernel_says(root_fd: int, path: str, follow: bool):
    flags = os.O_PATH | (0 if follow else os.O_NOFOLLOW)
    for _attempt in range(8):  # RESOLVE_IN_ROOT says EAGAIN when a host mount races it
        fd = lib.rp_openat2(root_fd, path.encode(), flags, 0, RESOLVE_IN_ROOT)
        if fd != -errno.EAGAIN:
            break
    if fd < 0:
        return -fd
    try:
        return os.fstat(fd).st_ino
    finally:
        os.close(fd)


def vfs_says(vfs: VFS, path: str, follow: bool):
    try:
        return vfs.resolve("/", path, follow=follow).stat.ino
    except SyscallError as exc:
        return exc.errno


paths = st.builds(
    lambda absolute, names, slash: ("/" if absolute else "") + "/".join(names) + ("/" if slash else ""),
    st.booleans(), st.lists(st.sampled_from(NAMES), min_size=1, max_size=7), st.booleans())


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths, follow=st.booleans())
@example(path="/d/abs", follow=True)          # absolute target
@example(path="d/abs/../f", follow=True)      # absolute target mid-path, then ..
@example(path="/dl/fl", follow=True)          # link to a dir, then link to a file
@example(path="d/up/up/f", follow=True)       # .. past the root, twice
@example(path="d/e/f", follow=True)           # a chain of links and ..
@example(path="d/e/f", follow=False)
@example(path="/d/loop/", follow=False)       # trailing slash follows
@example(path="dl/", follow=False)
def test_vfs_agrees_with_the_kernel(tree, path, follow):
    vfs, root_fd = tree
    assert vfs_says(vfs, path, follow) == kernel_says(root_fd, path, follow), path


@pytest.mark.parametrize("path,follow,expected", [
    ("/d/loop", True, errno.ELOOP),
    ("/d/f/", True, errno.ENOTDIR),
    ("/d/missing/x", True, errno.ENOENT),
    ("/d/f/x", True, errno.ENOTDIR),
    ("/" + "x" * 256, True, errno.ENAMETOOLONG),
    ("/" + "d/" * 2048, True, errno.ENAMETOOLONG),
])
def test_errors(tree, path, follow, expected):
    assert vfs_says(tree[0], path, follow) == expected


def test_unfollowed_link_keeps_its_target(tree):
    res = tree[0].resolve("/", "/d/abs", follow=False)
    assert res.target == "/d/e" and res.path == "/d/abs"


def test_relative_to_a_base(tree):
    vfs, root_fd = tree
    assert vfs.resolve("/d", "e/../f").stat.ino == kernel_says(root_fd, "d/f", True)
    assert vfs.resolve("/d/e", "../../../f").path == "/f"
