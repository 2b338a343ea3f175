"""Directory notification (fcntl F_NOTIFY, "dnotify"), over the inotify table.

dnotify is inotify's predecessor: `fcntl(dirfd, F_NOTIFY, DN_* mask)` asks
for a signal (SIGIO, or the one F_SETSIG chose) to the caller whenever an
entry of the directory is accessed, modified, created, deleted, renamed or
has its attributes changed; once, unless DN_MULTISHOT. Every event the
sentry raises already goes through the inotify table (sentry/inotify.py),
so a registration here is one more watcher of it, one that signals
rather than queues.

What differs from Linux: the signal is sent by the sentry as kill(2) sends
it (si_code SI_USER, no si_fd or si_band), and F_SETSIG's choice is taken
when F_NOTIFY is called, not when the signal is sent (docs/compatibility.md).
"""
from __future__ import annotations

import signal

from runsc_py.sentry.inotify import (IN_ACCESS, IN_ALL_EVENTS, IN_ATTRIB, IN_CREATE, IN_DELETE,
                                     IN_MODIFY, IN_MOVED_FROM, IN_MOVED_TO, IN_ONESHOT, Watch)

DN_ACCESS, DN_MODIFY, DN_CREATE, DN_DELETE, DN_RENAME, DN_ATTRIB = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
DN_MULTISHOT = 0x80000000
AS_INOTIFY = {DN_ACCESS: IN_ACCESS, DN_MODIFY: IN_MODIFY, DN_CREATE: IN_CREATE | IN_MOVED_TO,
              DN_DELETE: IN_DELETE | IN_MOVED_FROM, DN_RENAME: IN_MOVED_FROM | IN_MOVED_TO,
              DN_ATTRIB: IN_ATTRIB}


def inotify_mask(arg: int) -> int:
    mask = 0 if arg & DN_MULTISHOT else IN_ONESHOT
    for dn, events in AS_INOTIFY.items():
        if arg & dn:
            mask |= events
    return mask


class DirectoryNotice:
    """One F_NOTIFY registration: a directory's open file description, the
    process to signal, and which signal. Duck-types an inotify instance for
    the table (`watches`, `closed`, `send`, `remove`, `close`)."""

    write_fd = -1   # no queue: what the table reaps by its pipe is never one of these

    def __init__(self, table, file, process, signum: int):
        self.table = table
        self.file = file          # the OpenFile F_NOTIFY was called on
        self.process = process    # its owner from then on (Linux: __f_setown of the caller)
        self.signum = signum or signal.SIGIO
        self.watches = {}
        self.closed = False

    def add(self, key, mask: int) -> int:
        self.watches = {key: Watch(1, mask)}
        return 1

    def send(self, wd: int, mask: int, cookie: int = 0, name: str = "") -> None:
        watch = next(iter(self.watches.values()), None)
        if self.closed or watch is None or not mask & watch.mask & IN_ALL_EVENTS:
            return   # (the directory's own deletion or move, an overflow: not dnotify's)
        if not self._still_open():
            self.close()
            return
        try:
            signal.pidfd_send_signal(self.process.pidfd, self.signum)
        except OSError:   # gone meanwhile
            self.close()

    def remove(self, wd: int):
        if not self.watches:
            return None
        key = next(iter(self.watches))
        self.watches = {}
        self.closed = True
        return key

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.table.instance_closed(self)

    def _still_open(self) -> bool:
        """Whether its process still has the description open (dnotify's
        registration ends with the last close of it by that process)."""
        if self.process.exit_status is not None:
            return False
        return any(e.file is self.file for e in list(self.process.fds.entries.values()))


def notify(kernel, process, file, arg: int, signum: int) -> None:
    """F_NOTIFY: watch `file`'s directory for `arg`'s events (replacing this
    description's earlier registration), or stop (no event in `arg`)."""
    table = kernel.vfs.inotify
    for instance in list(table.instances):
        if isinstance(instance, DirectoryNotice) and instance.file is file:
            instance.close()
    table.instances = [i for i in table.instances if not i.closed]
    if not arg & ~DN_MULTISHOT:
        return
    notice = DirectoryNotice(table, file, process, signum)
    table.instances.append(notice)
    table.add_watch(notice, (file.mount.mount_id, file.rel), inotify_mask(arg))
