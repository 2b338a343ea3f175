"""Mount namespaces (sentry/mountns.py) and the VFS that resolves in the caller's.

A mount over a mount point, or over mounts beneath it, hides them until it
goes; a copy keeps each mount's files and id but not its flags; a walk
sees only its own namespace's table; a mount is found by id from any
namespace (inotify delivers by id)."""
import os

from runsc_py.sentry.fs.tmpfs import TmpFilesystem
from runsc_py.sentry.vfs import VFS


def tmpfs() -> TmpFilesystem:
    return TmpFilesystem(dir_fd_source=lambda: os.open("/", os.O_RDONLY))


def names(ns) -> list[str]:
    return sorted(ns.mounts)


def test_a_mount_hides_what_is_at_and_beneath_its_mount_point_until_it_goes():
    vfs = VFS()
    vfs.mount("/", tmpfs())
    vfs.ns.mounts["/"].fs.mkdir("a", 0o755, 0, 0)
    first = vfs.mount("/a", tmpfs())
    first.fs.mkdir("b", 0o755, 0, 0)
    vfs.mount("/a/b", tmpfs())
    top = vfs.mount("/a", tmpfs())
    assert names(vfs.ns) == ["/", "/a"] and vfs.resolve("/", "/a").mount is top
    vfs.ns.remove(top)
    assert names(vfs.ns) == ["/", "/a", "/a/b"] and vfs.resolve("/", "/a").mount is first


def test_a_copy_has_the_same_files_and_ids_but_flags_of_its_own():
    vfs = VFS()
    root = vfs.mount("/", tmpfs())
    root.fs.mkdir("m", 0o755, 0, 0)
    mounted = vfs.mount("/m", tmpfs())
    child = vfs.unshare(vfs.initial)
    twin = child.mounts["/m"]
    assert (twin.fs, twin.dev, twin.mount_id) == (mounted.fs, mounted.dev, mounted.mount_id)
    twin.readonly = True
    assert not mounted.readonly
    vfs.use(child)
    vfs.mount("/m", tmpfs())                       # only the child's table changes
    assert vfs.resolve("/", "/m").mount is not twin
    vfs.use(vfs.initial)
    assert vfs.resolve("/", "/m").mount is mounted


def test_a_mount_is_found_by_id_from_any_namespace():
    vfs = VFS()
    vfs.mount("/", tmpfs()).fs.mkdir("late", 0o755, 0, 0)
    child = vfs.unshare(vfs.initial)
    late = vfs.mount("/late", tmpfs())             # in the first namespace only
    vfs.use(child)
    assert vfs.mount_by_id(late.mount_id) is late
    assert vfs.mount_by_id(10_000) is None
