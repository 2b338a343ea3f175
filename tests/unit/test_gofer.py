"""The gofer server on a real directory tree: what it opens, refuses and reports."""
import errno
import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runsc_py.gofer import protocol as p
from runsc_py.gofer.server import Gofer
from runsc_py.sentry.stat import Stat


@pytest.fixture
def root(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "file").write_text("data")
    (tmp_path / "link").symlink_to("dir")
    os.mkfifo(tmp_path / "fifo")
    os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    yield tmp_path, fd
    os.close(fd)


def ask(gofer: Gofer, op: int, path: str, open_flags: int = -1, offset: int = 0):
    fds: list[int] = []
    try:
        reply = gofer.handle(p.pack_request(op, path, open_flags, offset), fds)
    except OSError as exc:
        return exc.errno, None, fds
    return p.REPLY.unpack_from(reply), reply, fds


def test_lookup_and_open_a_file(root):
    path, fd = root
    (err, kind), reply, fds = ask(Gofer(fd, True), p.LOOKUP, "dir/file", os.O_RDONLY)
    assert (err, kind) == (0, p.FOUND)
    assert p.unpack_stat(reply, p.REPLY.size).size == 4
    assert len(fds) == 1 and os.read(fds[0], 10) == b"data"
    os.close(fds[0])


def test_symlink_midway_is_reported_not_followed(root):
    _path, fd = root
    (err, kind), reply, _ = ask(Gofer(fd, True), p.LOOKUP, "link/file")
    assert kind == p.SYMLINK
    assert p.CONSUMED.unpack_from(reply, p.REPLY.size) == (1,)
    assert reply[p.REPLY.size + p.CONSUMED.size:] == b"dir"


def test_readonly_refuses_writes(root):
    _path, fd = root
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND):
        assert ask(Gofer(fd, True), p.LOOKUP, "dir/file", flags)[0] == errno.EROFS


def test_device_nodes_are_never_opened(root):
    _path, fd = root
    assert ask(Gofer(fd, False), p.LOOKUP, "null", os.O_RDONLY)[0] == errno.EACCES


def test_fifos_open_without_blocking(root):
    _path, fd = root
    (err, _kind), _reply, fds = ask(Gofer(fd, True), p.LOOKUP, "fifo", os.O_RDONLY)
    assert err == 0 and len(fds) == 1
    os.close(fds[0])


def test_dotdot_cannot_leave_the_root(root):
    path, fd = root
    (path.parent / "outside").write_text("secret")
    try:  # RESOLVE_IN_ROOT clamps "..": this names <root>/outside, which does not exist
        assert ask(Gofer(fd, True), p.LOOKUP, "../outside", os.O_RDONLY)[0] == errno.ENOENT
    finally:
        (path.parent / "outside").unlink()


def test_readdir_sends_attributes(root):
    _path, fd = root
    (err, kind), reply, _ = ask(Gofer(fd, True), p.READDIR, "")
    assert (err, kind) == (0, p.ENTRIES)
    names = []
    at = p.REPLY.size + 1
    while at < len(reply):
        _ino, dtype, n, nlink = p.DIRENT.unpack_from(reply, at)
        at += p.DIRENT.size
        names.append((bytes(reply[at: at + n]), dtype))
        at += n + p.STAT.size + nlink
    assert names == [(b"dir", 4), (b"fifo", 1), (b"link", 10), (b"null", 2)]


def comparable(entries: bytes) -> list:
    """A listing's entries, a symlink's atime left out: reading its target
    moves it, after the listing took its attributes and before the reference
    (reference_entries) takes them."""
    out, at = [], 0
    while at < len(entries):
        _ino, dtype, n, nlink = p.DIRENT.unpack_from(entries, at)
        at += p.DIRENT.size
        name = entries[at: at + n]
        st = p.unpack_stat(entries, at + n)
        if stat.S_ISLNK(st.mode):
            st = st._replace(atime_ns=0)
        at += n + p.STAT.size
        out.append((dtype, name, st, entries[at: at + nlink]))
        at += nlink
    return out


def reference_entries(directory: str, names: list[bytes]) -> bytes:
    """What the listing must hold for `names`, built from os.lstat and
    os.readlink (the Python the gofer used before csrc/listing.c)."""
    out = b""
    for name in names:
        full = os.path.join(os.fsencode(directory), name)
        s = os.lstat(full)
        link = os.readlink(full) if stat.S_ISLNK(s.st_mode) else b""
        out += (p.DIRENT.pack(s.st_ino, stat.S_IFMT(s.st_mode) >> 12, len(name), len(link))
                + name + p.pack_stat(Stat.from_os(s)) + link)
    return out


def test_listing_is_lstat_of_every_name_sorted_in_chunks(tmp_path):
    names = [b"f%03d" % i for i in range(p.ENTRIES_PER_REPLY + 50)]
    for name in names:
        (tmp_path / os.fsdecode(name)).write_bytes(b"x" * len(name))
    odd = [b"\xff\xfename", b"dir", b"long-link", b"fifo"]
    os.mkdir(tmp_path / "dir")
    os.symlink("t" * 4000, tmp_path / "long-link")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / os.fsdecode(odd[0])).write_bytes(b"")
    every = sorted(names + odd)
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        gofer = Gofer(fd, True)
        (err, kind), first, _ = ask(gofer, p.READDIR, "")
        (err2, kind2), second, _ = ask(gofer, p.READDIR, "", offset=p.ENTRIES_PER_REPLY)
    finally:
        os.close(fd)
    assert (err, kind, err2, kind2) == (0, p.ENTRIES, 0, p.ENTRIES)
    at = p.REPLY.size
    assert (first[at], second[at]) == (1, 0)   # more, then no more
    assert comparable(first[at + 1:]) == comparable(
        reference_entries(str(tmp_path), every[:p.ENTRIES_PER_REPLY]))
    assert comparable(second[at + 1:]) == comparable(
        reference_entries(str(tmp_path), every[p.ENTRIES_PER_REPLY:]))


def test_a_directory_opened_for_reading_comes_listed(root):
    path, fd = root
    gofer = Gofer(fd, True)
    (err, kind), reply, fds = ask(gofer, p.LOOKUP, "", os.O_RDONLY | os.O_DIRECTORY)
    assert (err, kind) == (0, p.LISTED) and len(fds) == 1
    assert os.lseek(fds[0], 0, os.SEEK_CUR) == 0   # put back for the workload's reads
    assert len(os.listdir(fds[0])) == 4
    os.close(fds[0])
    at = p.REPLY.size + p.STAT.size
    assert reply[at] == 0
    assert comparable(reply[at + 1:]) == comparable(
        reference_entries(str(path), [b"dir", b"fifo", b"link", b"null"]))
    for flags in (os.O_RDONLY, os.O_PATH | os.O_DIRECTORY):   # not a read of a directory
        (err, kind), _reply, fds = ask(gofer, p.LOOKUP, "dir", flags)
        assert (err, kind) == (0, p.FOUND)
        os.close(fds[0])


stats = st.builds(Stat, *[st.integers(0, 2**32 - 1)] * 2, st.integers(0, 2**64 - 1),
                  *[st.integers(0, 2**32 - 1)] * 3, st.integers(0, 2**64 - 1),
                  *[st.integers(-2**63, 2**63 - 1)] * 6)


@given(op=st.integers(0, 255), path=st.text(max_size=300), flags=st.integers(-2**31, 2**31 - 1),
       offset=st.integers(0, 2**32 - 1))
def test_request_round_trip(op, path, flags, offset):
    op2, mount, flags2, offset2, _cpu, body = p.unpack_request(p.pack_request(op, path, flags, offset))
    assert (op2, mount, flags2, offset2, p.decode_path(body)) == (op, 0, flags, offset, path)


@given(stat_=stats)
def test_stat_round_trip(stat_):
    assert p.unpack_stat(p.pack_stat(stat_), 0) == stat_


def test_the_gofer_keeps_to_the_cpu_each_request_names(root):
    """Every request names the sentry's CPU; the gofer moves there (a wake-up
    on the waker's CPU is the cheap one: csrc/interpose.c), and back to any
    CPU when the sentry cannot tell (-1)."""
    _path, fd = root
    allowed = os.sched_getaffinity(0)
    gofer = Gofer(fd, True)
    try:
        for cpu in sorted(allowed):
            gofer.handle(p.pack_request(p.STATFS, "", cpu=cpu), [])
            assert os.sched_getaffinity(0) == {cpu}
        gofer.handle(p.pack_request(p.STATFS, "", cpu=-1), [])
        assert os.sched_getaffinity(0) == allowed
    finally:
        os.sched_setaffinity(0, allowed)
