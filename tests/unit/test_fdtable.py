"""The fd table: lowest-free numbering, quarantine of closing fds, fork and exec."""
import errno
import os

import pytest

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import FdTable, OpenFile


def table_with(*fds: int, cloexec: tuple[int, ...] = (), limit: int = 16) -> FdTable:
    t = FdTable(limit=limit)
    for fd in fds:
        t.install(fd, OpenFile("file"), fd in cloexec)
    return t


def test_lowest_free():
    t = table_with(0, 1, 2, 4)
    assert t.lowest_free() == 3 and t.lowest_free(4) == 5


def test_a_closing_fd_is_not_reused_until_its_close_is_done():
    held = os.open("/dev/null", os.O_RDONLY)   # the closing thread's host fd (this process's)
    t = table_with(*range(held + 1), limit=held + 16)
    t.close(held, closing_tid=os.getpid())
    assert t.lowest_free() == held + 1         # its close is in flight: another open must not get it
    t.settle(os.getpid() + 100000)
    assert t.lowest_free() == held + 1
    t.settle(os.getpid())                      # the closer made its next call: free
    assert t.lowest_free() == held
    t.install(held, OpenFile("file"))
    t.close(held, closing_tid=os.getpid())
    assert t.lowest_free() == held + 1
    os.close(held)                             # the close finished, though the closer made no call
    assert t.lowest_free() == held


def test_limits():
    t = table_with(*range(16))
    with pytest.raises(SyscallError) as exc:
        t.lowest_free()
    assert exc.value.errno == errno.EMFILE
    with pytest.raises(SyscallError) as exc:
        t.get(99)
    assert exc.value.errno == errno.EBADF


def test_fork_copies_numbers_and_shares_descriptions():
    t = table_with(0, 1)
    child = t.fork()
    child.close(1, 5)
    assert 1 in t.entries and child.entries[0].file is t.entries[0].file


def test_exec_drops_cloexec():
    t = table_with(0, 1, 5, cloexec=(5,))
    t.on_exec()
    assert sorted(t.entries) == [0, 1]
