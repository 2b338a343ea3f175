"""The sentry's inotify without a workload: host watches come and go with
the workload's, leave nothing behind, and fail with ENOSPC when the host
will not watch; the sentry's own I/O is not the workload's; identical
unread events merge."""
from __future__ import annotations

import errno
import os
import struct

import pytest

from runsc_py import hostcalls
from runsc_py.sentry import attrs, files, inotify, namei
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.tmpfs import TmpFilesystem
from runsc_py.sentry.tasks import Credentials
from runsc_py.sentry.vfs import VFS

ROOT = Credentials()
EVENT = struct.Struct("<iIII")


@pytest.fixture
def tree():
    """A tmpfs root with d/x and d/y, and the fds the "workload" opened them as."""
    vfs = VFS()
    mount = vfs.mount("/", TmpFilesystem(dir_fd_source=lambda: os.open("/", os.O_RDONLY)))
    namei.mkdir(vfs, ROOT, "/", "d", 0o755)
    opened = []
    for name in ("d/x", "d/y"):
        file, fd = files.open_path(vfs, ROOT, 0, "/", name, os.O_RDWR | os.O_CREAT, 0o644)
        opened.append((file, fd))
    vfs.open_files = vfs.inotify.open_files = lambda: [f for f, _fd in opened]
    yield vfs, mount.mount_id, opened
    release(vfs, [fd for _file, fd in opened])
    for node in {id(n): n for n in mount.fs._files()}.values():  # hard links: one node
        os.close(node.data_fd)
    if mount.fs.store.mount_fd is not None:
        os.close(mount.fs.store.mount_fd)


def release(vfs: VFS, fds=()) -> None:
    """Close what a test made: the suite runs in one process."""
    for fd in fds:
        os.close(fd)
    for instance in vfs.inotify.instances:
        instance.close()
    if vfs.inotify.host_watches is not None:
        os.close(vfs.inotify.host_watches.fd)


def events(read_end: int) -> list[tuple[int, int, str]]:
    try:
        data = os.read(read_end, 65536)
    except BlockingIOError:
        return []
    out, at = [], 0
    while at < len(data):
        wd, mask, _cookie, length = EVENT.unpack_from(data, at)
        out.append((wd, mask, data[at + 16:at + 16 + length].rstrip(b"\0").decode()))
        at += 16 + length
    return out


def host_watch_count(vfs: VFS) -> int:
    with open(f"/proc/self/fdinfo/{vfs.inotify.host_watches.fd}") as f:
        return sum(line.startswith("inotify wd:") for line in f)


def new_instance(vfs: VFS):
    instance, read_end = vfs.inotify.new()
    os.set_blocking(read_end, False)
    return instance, read_end


def test_a_directory_watch_covers_its_files_and_lets_them_go(tree):
    vfs, mid, opened = tree
    instance, read_end = new_instance(vfs)
    wd = vfs.inotify.add_watch(instance, (mid, "d"), inotify.IN_MODIFY | inotify.IN_CREATE)
    assert set(vfs.inotify.host_watches.by_name) == {(mid, "d/x"), (mid, "d/y")}
    os.write(opened[1][1], b"native")           # the workload's write: the sentry never sees it
    vfs.inotify.drain()
    assert events(read_end) == [(wd, inotify.IN_MODIFY, "y")]
    file, fd = files.open_path(vfs, ROOT, 0, "/", "d/z", os.O_WRONLY | os.O_CREAT, 0o644)
    opened.append((file, fd))
    assert (mid, "d/z") in vfs.inotify.host_watches.by_name
    assert host_watch_count(vfs) == 3
    assert vfs.inotify.remove_watch(instance, wd)
    assert vfs.inotify.host_watches.by_name == {} and vfs.inotify.host_watches.inodes == {}
    assert host_watch_count(vfs) == 0
    os.close(read_end)


def test_a_watch_without_access_or_modify_needs_no_host_watch(tree):
    vfs, mid, _opened = tree
    instance, read_end = new_instance(vfs)
    vfs.inotify.add_watch(instance, (mid, "d"), inotify.IN_CREATE | inotify.IN_CLOSE_WRITE)
    assert vfs.inotify.host_watches is None
    os.close(read_end)


def test_a_closed_instance_lets_its_host_watches_go(tree):
    vfs, mid, _opened = tree
    instance, read_end = new_instance(vfs)
    vfs.inotify.add_watch(instance, (mid, "d/x"), inotify.IN_ACCESS)
    assert host_watch_count(vfs) == 1
    os.close(read_end)                          # the workload's last copy of the read end
    vfs.inotify.reap()
    assert instance.closed and host_watch_count(vfs) == 0


def test_hard_links_share_one_host_watch(tree):
    vfs, mid, opened = tree
    instance, read_end = new_instance(vfs)
    namei.mkdir(vfs, ROOT, "/", "e", 0o755)
    namei.link(vfs, ROOT, "/", "d/x", "/", "e/x2", follow=False)
    wd_d = vfs.inotify.add_watch(instance, (mid, "d"), inotify.IN_MODIFY)
    wd_e = vfs.inotify.add_watch(instance, (mid, "e"), inotify.IN_MODIFY)
    host = vfs.inotify.host_watches
    assert host.by_name[(mid, "d/x")] == host.by_name[(mid, "e/x2")]
    os.write(opened[0][1], b"through d/x")    # opened by d/x: only d hears it, as on Linux
    vfs.inotify.drain()
    assert events(read_end) == [(wd_d, inotify.IN_MODIFY, "x")]
    vfs.inotify.remove_watch(instance, wd_d)
    assert list(host.by_name) == [(mid, "e/x2")] and host_watch_count(vfs) == 1
    vfs.inotify.remove_watch(instance, wd_e)
    assert host_watch_count(vfs) == 0
    os.close(read_end)


def test_enospc_when_the_host_will_not_watch(tree, monkeypatch):
    vfs, mid, _opened = tree
    instance, read_end = new_instance(vfs)

    def full(*_args):
        raise OSError(errno.ENOSPC, "max_user_watches")

    monkeypatch.setattr(hostcalls, "inotify_add_watch", full)
    with pytest.raises(SyscallError) as caught:
        vfs.inotify.add_watch(instance, (mid, "d"), inotify.IN_MODIFY)
    assert caught.value.errno == errno.ENOSPC
    assert instance.watches == {} and vfs.inotify.host_watches.by_name == {}
    os.close(read_end)


def test_a_truncate_the_sentry_makes_is_one_event(tree):
    vfs, mid, _opened = tree
    instance, read_end = new_instance(vfs)
    wd_d = vfs.inotify.add_watch(instance, (mid, "d"), inotify.IN_MODIFY)
    wd_x = vfs.inotify.add_watch(instance, (mid, "d/x"), inotify.IN_MODIFY)
    attrs.truncate(ROOT, attrs.by_path(vfs, "/", "d/x", follow=True), 1)
    # the host saw the sentry's ftruncate too: that is not another, native, one
    assert events(read_end) == [(wd_d, inotify.IN_MODIFY, "x"), (wd_x, inotify.IN_MODIFY, "")]
    os.close(read_end)


def test_identical_unread_events_merge():
    vfs = VFS()
    instance, read_end = new_instance(vfs)
    instance.send(1, inotify.IN_MODIFY, name="f")
    instance.send(1, inotify.IN_MODIFY, name="f")
    instance.send(1, inotify.IN_MODIFY, name="g")
    assert events(read_end) == [(1, inotify.IN_MODIFY, "f"), (1, inotify.IN_MODIFY, "g")]
    instance.send(1, inotify.IN_MODIFY, name="g")   # the last one was read: a new event
    instance.send(1, inotify.IN_IGNORED)
    instance.send(1, inotify.IN_IGNORED)            # never merged
    assert events(read_end) == [(1, inotify.IN_MODIFY, "g"), (1, inotify.IN_IGNORED, ""),
                                (1, inotify.IN_IGNORED, "")]
    release(vfs, [read_end])
