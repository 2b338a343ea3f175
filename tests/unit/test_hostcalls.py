"""runsc_py.hostcalls (csrc/hostcalls.c), pinned against the running test process."""
import errno
import os
import signal
import struct
import threading

import pytest

from runsc_py import hostcalls

RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
TMPFS_MAGIC = 0x01021994


def test_renameat2_exchanges_and_refuses_to_replace(tmp_path):
    (tmp_path / "a").write_text("A")
    (tmp_path / "b").write_text("B")
    d = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        hostcalls.renameat2(d, "a", d, "b", RENAME_EXCHANGE)
        assert (tmp_path / "a").read_text() == "B" and (tmp_path / "b").read_text() == "A"
        with pytest.raises(FileExistsError):
            hostcalls.renameat2(d, "a", d, "b", RENAME_NOREPLACE)
        hostcalls.renameat2(d, "a", d, "c", 0)
        assert sorted(os.listdir(tmp_path)) == ["b", "c"]
    finally:
        os.close(d)


def test_fchmodat_nofollow_changes_the_file_not_its_target(tmp_path):
    (tmp_path / "f").write_text("")
    os.chmod(tmp_path / "f", 0o600)
    d = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        hostcalls.fchmodat_nofollow(d, "f", 0o640)
        assert os.stat(tmp_path / "f").st_mode & 0o7777 == 0o640
        os.symlink("f", tmp_path / "l")
        try:   # Linux refuses a symlink's mode (EOPNOTSUPP); never the target's
            hostcalls.fchmodat_nofollow(d, "l", 0o600)
        except OSError as exc:
            assert exc.errno in (errno.EOPNOTSUPP, errno.ENOSYS)
        assert os.stat(tmp_path / "f").st_mode & 0o7777 == 0o640
        with pytest.raises(FileNotFoundError):
            hostcalls.fchmodat_nofollow(d, "missing", 0o600)
    finally:
        os.close(d)


def test_link_fd_names_an_unnamed_file(tmp_path):
    fd = os.open(tmp_path, os.O_TMPFILE | os.O_RDWR, 0o600)
    d = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        os.write(fd, b"data")
        hostcalls.link_fd(fd, d, "named")
        assert (tmp_path / "named").read_bytes() == b"data"
        with pytest.raises(FileExistsError):
            hostcalls.link_fd(fd, d, "named")
    finally:
        os.close(fd)
        os.close(d)


def test_fstatfs_type_is_the_magic_number():
    fd = os.memfd_create("t")
    try:
        assert hostcalls.fstatfs_type(fd) == TMPFS_MAGIC   # memfds live on a tmpfs
    finally:
        os.close(fd)
    with pytest.raises(OSError) as exc:
        hostcalls.fstatfs_type(-1)
    assert exc.value.errno == errno.EBADF


def test_detached_tmpfs_mount():
    try:
        fs = hostcalls.fsopen("tmpfs", 1)
    except PermissionError:
        pytest.skip("fsopen needs CAP_SYS_ADMIN")
    try:
        hostcalls.fsconfig(fs, 1, "size", "4096")   # FSCONFIG_SET_STRING
        with pytest.raises(OSError):
            hostcalls.fsconfig(fs, 1, "no-such-option", "1")
        hostcalls.fsconfig(fs, 6)   # FSCONFIG_CMD_CREATE
        mnt = hostcalls.fsmount(fs, 1)
    finally:
        os.close(fs)
    try:
        assert hostcalls.fstatfs_type(mnt) == TMPFS_MAGIC
        assert os.fstatvfs(mnt).f_blocks * os.fstatvfs(mnt).f_frsize == 4096
    finally:
        os.close(mnt)


def test_signalfd_reads_a_blocked_signal_and_takes_a_new_mask():
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGUSR2})
    fd = hostcalls.signalfd(-1, 1 << (signal.SIGUSR1 - 1), os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR2)
        with pytest.raises(BlockingIOError):
            os.read(fd, 128)   # not in the mask
        assert hostcalls.signalfd(fd, 1 << (signal.SIGUSR2 - 1), 0) == fd
        assert struct.unpack_from("I", os.read(fd, 128))[0] == signal.SIGUSR2
    finally:
        os.close(fd)
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def test_timerfd_create():
    fd = hostcalls.timerfd_create(1, os.O_CLOEXEC)   # CLOCK_MONOTONIC
    try:
        assert os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[timerfd]"
    finally:
        os.close(fd)
    with pytest.raises(OSError) as exc:
        hostcalls.timerfd_create(12345, 0)
    assert exc.value.errno == errno.EINVAL


def test_landlock_abi_and_a_ruleset():
    if hostcalls.landlock_abi() == 0:
        pytest.skip("no Landlock on this kernel")
    ruleset = hostcalls.landlock_create_ruleset(1 << 2)   # READ_FILE handled
    try:
        root = os.open("/", os.O_PATH)
        try:
            hostcalls.landlock_add_path_rule(ruleset, 1 << 2, root)
            with pytest.raises(OSError) as exc:   # a right the ruleset does not handle
                hostcalls.landlock_add_path_rule(ruleset, 1 << 1, root)
            assert exc.value.errno == errno.EINVAL
        finally:
            os.close(root)
    finally:
        os.close(ruleset)
    with pytest.raises(OSError) as exc:
        hostcalls.landlock_restrict_self(-1)
    assert exc.value.errno == errno.EBADF


def test_inotify_watches_a_file_and_lets_it_go(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"")
    fd = hostcalls.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        wd = hostcalls.inotify_add_watch(fd, str(target), 0x2)   # IN_MODIFY
        target.write_bytes(b"x")
        event_wd, mask = struct.unpack_from("<iI", os.read(fd, 4096))
        assert (event_wd, mask) == (wd, 0x2)
        hostcalls.inotify_rm_watch(fd, wd)
        with pytest.raises(OSError) as err:
            hostcalls.inotify_rm_watch(fd, wd)
        assert err.value.errno == errno.EINVAL
        with pytest.raises(FileNotFoundError):
            hostcalls.inotify_add_watch(fd, str(tmp_path / "missing"), 0x2)
    finally:
        os.close(fd)
