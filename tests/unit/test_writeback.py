"""sentry/writeback.py: what the workload wrote is applied once, and forgotten with its fds."""
import os

from runsc_py.sentry.writeback import WriteBacks


def test_applies_changes_once_and_releases():
    wb, applied = WriteBacks(), []
    fd = os.memfd_create("t")
    token = object()
    wb.watch(token, fd, applied.append)
    wb.settle()
    assert applied == []                     # nothing written yet
    os.write(fd, b"name\n")
    wb.settle()
    wb.settle()
    assert applied == [b"name\n"]
    wb.release([token])                      # a guest fd still refers to it
    assert len(wb.open) == 1
    os.write(fd, b"more")
    wb.release([])                           # the last one went: a last look, then gone
    assert applied == [b"name\n", b"name\nmore"] and wb.open == {}
    os.close(fd)
