"""Zombies: sandbox processes that have exited but that their parent has not reaped.

The sentry sees a process exit as its tracer, before its parent can reap it
(wait4 and waitid run natively: the parent reaps the host process). Until
the parent does, Linux still shows the process in /proc (state Z) and
counts it against its user's RLIMIT_NPROC, and so does the sandbox: the
process stays in this table, with the pidfd the sentry opened at its
clone.

A pidfd reports EPOLLHUP once its process is reaped (it is readable from
the moment the process exits, so the table listens for the hang-up only).
All the pidfds sit in one epoll fd, which `collect` asks without waiting
whenever a process forks or exits (so the table stays as small as the
zombies the host still has) and before anyone looks at the table
(procfs, the RLIMIT_NPROC count, kill): a parent that reaps and at once
forks or lists /proc sees the change. The platform's loop does not
watch it: an event on a watched fd empties the C loop's stat answers,
and every reaped child would.
"""
from __future__ import annotations

import os
import select


class Zombies:
    def __init__(self):
        self._epoll: select.epoll | None = None
        self.by_vpid: dict = {}            # vpid -> Process (exited, not reaped)
        self._by_pidfd: dict[int, int] = {}  # pidfd -> vpid

    def hold(self, proc, leader) -> bool:
        """Keep an exited process (its pidfd and its exited leader Task) until it
        is reaped. False if it cannot be watched (no pidfd): it is gone at once."""
        if proc.pidfd is None:
            return False
        if self._epoll is None:
            self._epoll = select.epoll()
            os.set_inheritable(self._epoll.fileno(), False)
        self.evict(proc.vpid)
        proc.exited_leader = leader
        self.by_vpid[proc.vpid] = proc
        self._by_pidfd[proc.pidfd] = proc.vpid
        self._epoll.register(proc.pidfd, select.EPOLLHUP)   # readable means exited: ignore that
        return True

    def collect(self) -> None:
        """Forget the zombies the host has reaped."""
        if not self._by_pidfd:
            return
        while True:
            ready = self._epoll.poll(0, 256)
            for fd, _events in ready:
                vpid = self._by_pidfd.get(fd)
                if vpid is not None:
                    self.evict(vpid)
            if len(ready) < 256:
                return

    def get(self, vpid: int):
        self.collect()
        return self.by_vpid.get(vpid)

    def all(self) -> list:
        self.collect()
        return list(self.by_vpid.values())

    def still_held(self, proc) -> bool:
        """Whether `proc` is still a zombie (not reaped): checked after reading
        its host files, which are its own only while the host holds its pid."""
        if self.by_vpid.get(proc.vpid) is not proc or proc.pidfd is None:
            return False
        poller = select.poll()
        poller.register(proc.pidfd, 0)
        return not poller.poll(0)

    def evict(self, vpid: int) -> None:
        """Forget `vpid`'s zombie: reaped, or its pid was given to a new process."""
        proc = self.by_vpid.pop(vpid, None)
        if proc is None:
            return
        fd, proc.pidfd = proc.pidfd, None
        if fd is not None:
            self._by_pidfd.pop(fd, None)
            self._epoll.unregister(fd)
            os.close(fd)

    def __len__(self) -> int:
        return len(self.by_vpid)
