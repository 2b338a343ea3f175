"""Calls the sentry parks until a host socket is ready (accept, recvfrom, connect).

One epoll fd of the network table's own, watched by the platform's loop,
holds every wait: a parked call never blocks the loop. Each wait owns a
sentry copy of the host socket (so the numbers never collide) and a
callback that answers the call.

A wait for a workload's call is interruptible, as Linux's socket waits
are (sock_intr_errno): a signal for the caller cancels it and the call is
answered -ERESTARTSYS (sentry/interrupts.py), so it fails with EINTR or
is made again after an SA_RESTART handler, and a fatal signal kills.
"""
from __future__ import annotations

import errno
import os
import select
import socket
import struct

from runsc_py import hostcalls
from runsc_py.sentry import bugs

CLOCK_MONOTONIC, TFD_NONBLOCK, TFD_CLOEXEC = 1, 0o4000, 0o2000000
TIMEVAL = struct.Struct("qq")


def socket_timeout_ns(s: socket.socket, events: int) -> int:
    """The socket's SO_RCVTIMEO (a wait to receive or accept) or SO_SNDTIMEO
    (to send), in ns; 0 when it has none."""
    option = socket.SO_RCVTIMEO if events & select.EPOLLIN else socket.SO_SNDTIMEO
    sec, usec = TIMEVAL.unpack(s.getsockopt(socket.SOL_SOCKET, option, TIMEVAL.size))
    return sec * 1_000_000_000 + usec * 1000


class Waits:
    def __init__(self, platform, interrupts):
        self._platform = platform
        self._interrupts = interrupts
        self._epoll: select.epoll | None = None
        self._waiting: dict[int, tuple] = {}   # sentry fd -> (socket, events, callback)
        self._calls: dict[int, object] = {}    # sentry fd -> the parked call it answers
        self._timers: dict[int, int] = {}      # sentry fd -> its call's timeout timerfd
        self._stale: set[int] = set()   # fds cancelled during this batch of events

    def park(self, sock, events: int, callback, call=None, on_interrupt=None,
             timeout_ns: int = 0) -> None:
        """Call callback() when `sock` (a socket the wait now owns) is ready for `events`.

        The callback returns True when it answered the call, False to keep
        waiting. With `call` (the workload's call it answers), a signal for
        the caller cancels the wait, calls on_interrupt() and interrupts the
        call; with a `timeout_ns` too (the socket's SO_RCVTIMEO or
        SO_SNDTIMEO), the call fails with EAGAIN when it runs out, and a
        signal gives EINTR, never a restart.
        """
        if self._epoll is None:
            self._epoll = select.epoll()
            os.set_inheritable(self._epoll.fileno(), False)
            self._platform.watch(self._epoll.fileno(), self._on_ready)
        fd = sock.fileno()
        self._waiting[fd] = (sock, events, callback)
        self._epoll.register(fd, events | select.EPOLLONESHOT)
        if call is not None:
            self._calls[fd] = call
            def interrupted() -> None:
                self.cancel(sock)
                if on_interrupt is not None:
                    on_interrupt()
            self._interrupts.watch(call, interrupted, restartable=not timeout_ns)
            if timeout_ns:
                self._time_out(sock, call, timeout_ns, on_interrupt)

    def _time_out(self, sock, call, timeout_ns: int, on_interrupt) -> None:
        """Answer `call` EAGAIN after timeout_ns, if its wait is still on then."""
        fd = sock.fileno()
        entry = self._waiting[fd]
        timer = hostcalls.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        hostcalls.timerfd_every(timer, timeout_ns)

        def expired(_events: int) -> None:
            self._drop_timer(fd)
            if self._waiting.get(fd) is entry:
                self.cancel(sock)
                if on_interrupt is not None:
                    on_interrupt()
                self._platform.complete(call, -errno.EAGAIN)

        self._timers[fd] = timer
        self._platform.watch(timer, expired)

    def _drop_timer(self, fd: int) -> None:
        timer = self._timers.pop(fd, None)
        if timer is not None:
            self._platform.unwatch(timer)
            os.close(timer)

    def cancel(self, sock) -> None:
        """Stop waiting on `sock` and close it (the wait owned it)."""
        fd = sock.fileno()
        if self._waiting.pop(fd, None) is not None:
            self._epoll.unregister(fd)
            self._stale.add(fd)   # its number may be reused before this batch ends
            self._forget_call(fd)
        sock.close()

    def _forget_call(self, fd: int) -> None:
        self._drop_timer(fd)
        call = self._calls.pop(fd, None)
        if call is not None:
            self._interrupts.forget(call)

    def __len__(self) -> int:
        return len(self._waiting)

    def _on_ready(self, _events: int) -> None:
        self._stale.clear()
        for fd, _revents in self._epoll.poll(0):
            entry = self._waiting.get(fd)
            if entry is None or fd in self._stale:
                continue   # cancelled by an earlier callback of this batch
            sock, events, callback = entry
            try:
                done = callback()
            except Exception:  # noqa: BLE001 - a sentry bug must not take the sandbox down
                bugs.report("a parked network call")
                done = True
            if self._waiting.get(fd) is not entry:
                continue   # the callback cancelled its own wait
            if done:
                del self._waiting[fd]
                self._epoll.unregister(fd)
                self._forget_call(fd)
                sock.close()
            else:
                self._epoll.modify(fd, events | select.EPOLLONESHOT)
