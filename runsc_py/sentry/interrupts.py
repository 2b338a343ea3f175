"""Parked calls a signal interrupts, as Linux's interruptible sleeps are.

A parked call (its answer withheld, `HELD`) is a task the host does not
wake for a signal: on the seccomp platform it sleeps in a killable wait
(`WAIT_KILLABLE_RECV`), on the ptrace platform in a ptrace stop, and a
signal sent by `kill` or raised by a timer (`alarm`) never passes the
sentry. So the sentry looks: while any interruptible call is parked, a
timerfd of its own fires every `PERIOD_NS` and each parked task's
`/proc/<tid>/status` is read. A signal is *interrupting* when it is pending
for the task or its process, not blocked, and would not be dropped at
delivery (not `SIG_IGN`, not `SIG_DFL` for a signal whose default is to
ignore it): the same test `signal_pending()` and the sender's
`sig_ignored()` make together on Linux. Then the call's `on_signal()` runs
(it forgets its own state) and the platform answers the call with
`-ERESTARTSYS` (`platform.interrupt`): the host delivers the signal, and the
call fails with `EINTR`, or is made again after a handler with
`SA_RESTART`, or after a stop and `SIGCONT`, exactly where Linux's
`wait_event_interruptible` would leave it.

Any parked call may use this (`watch`): the file lock waits do
(sentry/locks.py), FIFO opens waiting for a partner (sentry/fifos.py)
and the network calls parked on a host socket (sentry/net/waits.py).
`on_signal()` is also what runs when the task dies in its wait.
A fatal signal needs nothing: SIGKILL ends the killable wait, and any
other fatal one is interrupting like the rest.
"""
from __future__ import annotations

import contextlib
import errno
import os

from runsc_py import hostcalls

PERIOD_NS = 5_000_000          # how late an interruption may come
TFD_NONBLOCK, TFD_CLOEXEC = 0o4000, 0o2000000
CLOCK_MONOTONIC = 1
# signals whose default action is to ignore them: SIGCHLD, SIGCONT, SIGURG, SIGWINCH
DEFAULT_IGNORED = (1 << (17 - 1)) | (1 << (18 - 1)) | (1 << (23 - 1)) | (1 << (28 - 1))


def interrupting_signals(tid: int) -> int:
    """The mask of signals that would interrupt `tid`'s interruptible sleep now
    (0 also when the task is gone: its exit is reported on its own)."""
    try:
        with open(f"/proc/{tid}/status", "rb") as f:
            text = f.read()
    except OSError:
        return 0
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(b":")
        if name in (b"SigPnd", b"ShdPnd", b"SigBlk", b"SigIgn", b"SigCgt"):
            fields[name] = int(value.strip(), 16)
    if len(fields) < 5:
        return 0
    pending = fields[b"SigPnd"] | fields[b"ShdPnd"]
    dropped = fields[b"SigIgn"] | (DEFAULT_IGNORED & ~fields[b"SigCgt"])
    return pending & ~fields[b"SigBlk"] & ~dropped


class Interruptions:
    """Parked calls to interrupt when their task gets a signal."""

    def __init__(self, platform):
        self._platform = platform
        self._timer: int | None = None
        self._armed = False
        self._watched: dict[int, tuple] = {}   # host tid -> (call, on_signal)

    def watch(self, call, on_signal, restartable: bool = True) -> None:
        """Interrupt the parked `call` if a signal comes for its task first;
        `on_signal()` is called just before (the call's owner forgets it).
        A call that is not `restartable` fails with EINTR whatever the
        handler's SA_RESTART (a socket wait with a timeout: sock_intr_errno)."""
        self._watched[call.tid] = (call, on_signal, restartable)
        if not self._armed:
            if self._timer is None:
                self._timer = hostcalls.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
                self._platform.watch(self._timer, self._on_tick)
            hostcalls.timerfd_every(self._timer, PERIOD_NS)
            self._armed = True

    def forget(self, call) -> None:
        """The call was answered otherwise."""
        entry = self._watched.get(call.tid)
        if entry is not None and entry[0] is call:
            del self._watched[call.tid]
        self._disarm_if_idle()

    def task_gone(self, tid: int) -> None:
        """The task died in its wait: its call's owner forgets it, as for a signal."""
        entry = self._watched.pop(tid, None)
        if entry is not None:
            entry[1]()
            self._disarm_if_idle()

    def _disarm_if_idle(self) -> None:
        if not self._watched and self._armed:
            hostcalls.timerfd_every(self._timer, 0)
            self._armed = False

    def _on_tick(self, _events: int) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._timer, 8)
        for tid, (call, on_signal, restartable) in list(self._watched.items()):
            if self._watched.get(tid, (None,))[0] is not call:
                continue   # answered by an earlier one of this round
            if interrupting_signals(tid):
                del self._watched[tid]
                on_signal()
                if restartable:
                    self._platform.interrupt(call)
                else:
                    self._platform.complete(call, -errno.EINTR)
        self._disarm_if_idle()
