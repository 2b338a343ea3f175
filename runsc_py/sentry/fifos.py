"""Opening a FIFO without ever blocking the sentry's loop (fs/fifo.c's fifo_open).

On Linux a blocking open of a FIFO waits for a partner: a reader until
some writer has the FIFO open, a writer until some reader has. The FIFOs
the sandbox reaches are host FIFOs (in a store's detached tmpfs, or on a
root the gofer serves), and the sentry opens them for the workload, so an
open made on the loop would stop every process of the sandbox until a
partner came, and the partner could only be another sandbox process.

So `open_fifo` opens at once only what cannot wait (O_NONBLOCK, O_RDWR,
a writer when a reader is there) and raises `MustWait` for the rest. The
syscall layer then parks the call (`FifoOpens.park`): a thread of the
sentry makes the host's own blocking open, so the host decides when a
partner has come, exactly as for a native open. When it returns, the
syscall is run again with that fd ready for the same FIFO (`prepared`),
and answered. A signal for the waiting task interrupts it as
wait_for_partner's -ERESTARTSYS does (sentry/interrupts.py): the thread
is released by a partner the sentry opens and closes at once, which
wakes the FIFO's other waiters of the same kind too (a blocked writer
then finds no reader and gets EPIPE on write); Linux wakes only the
interrupted task.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os

from runsc_py.platform import HELD

# How long the loop lets a cancelled waiter's thread reach its open before
# it opens a partner again (a partner opened before the thread waits is
# not seen by it). The thread is normally waiting already: one round.
CANCEL_ROUND_S = 0.001


class MustWait(Exception):
    """A blocking FIFO open with no partner yet: park the call."""

    def __init__(self, opener, flags: int, key, release=None):
        super().__init__("a FIFO open waits for its partner")
        self.opener = opener   # opener(flags) -> host fd, a new open of the FIFO
        self.flags = flags
        self.key = key         # which FIFO, and in which access mode
        self.release = release  # called once no open through `opener` is left to make


_prepared: dict = {}


def open_fifo(opener, flags: int, identity, release=None) -> int:
    """A host fd of the FIFO `opener(flags)` opens, or MustWait.
    `identity` names the FIFO (its host (st_dev, st_ino)); `release()` is
    called when `opener` is no longer needed (at once, unless it waits)."""
    try:
        fd = _open_fifo(opener, flags, identity)
    except MustWait as wait:
        wait.release = release
        raise
    except BaseException:
        if release is not None:
            release()
        raise
    if release is not None:
        release()
    return fd


def _open_fifo(opener, flags: int, identity) -> int:
    key = (identity, flags & os.O_ACCMODE)
    _cancel_dead_waiters()
    ready = _prepared.pop(key, None)
    if ready is not None:
        return ready
    mode = flags & os.O_ACCMODE
    if flags & os.O_NONBLOCK or mode == os.O_RDWR:
        return opener(flags)
    if mode == os.O_WRONLY:
        try:
            fd = opener(flags | os.O_NONBLOCK)   # succeeds only when a reader is there
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        else:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            return fd
    raise MustWait(opener, flags, key)


@contextlib.contextmanager
def prepared(key, fd: int):
    """While the parked syscall runs again: `fd` is the open of the FIFO `key`
    names. Closed if the run did not take it (it reached another file)."""
    _prepared[key] = fd
    try:
        yield
    finally:
        left = _prepared.pop(key, None)
        if left is not None:
            os.close(left)


_waiting: set = set()   # every Waiter whose thread has not been reaped


def _cancel_dead_waiters() -> None:
    """A waiter whose task was killed still counts as a reader or writer of
    its FIFO until the sentry sees the exit, which may come after another
    task's next call. Linux drops it as the task dies: so, before any FIFO
    open, a waiter whose task is dead (gone or a zombie) is cancelled."""
    for waiter in [w for w in _waiting if not w.cancelled and _task_is_dead(w.tid)]:
        waiter.cancel()


def _task_is_dead(tid: int) -> bool:
    try:
        with open(f"/proc/{tid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rindex(b")") + 2:][:1] in (b"Z", b"X")


class Waiter:
    """One parked FIFO open: a thread in the host's blocking open."""

    def __init__(self, wait: MustWait, tid: int, on_open):
        self.wait = wait
        self.tid = tid   # the waiting task's host tid
        self.on_open = on_open   # on_open(fd or -errno), on the loop
        import threading   # here: a FIFO open that waits is rare, and threading costs ~1 ms

        self.cancelled = False
        self.result: int | None = None
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            self.result = self.wait.opener(self.wait.flags)
        except OSError as exc:
            self.result = -exc.errno
        self.finished.set()

    def cancel(self) -> None:
        """Release the thread: open a partner and close it, until the thread's
        open has returned; then close what it opened. Once: a signal and the
        task's death may both ask."""
        if self.cancelled:
            return
        self.cancelled = True
        partner = os.O_WRONLY if self.wait.flags & os.O_ACCMODE == os.O_RDONLY else os.O_RDONLY
        while not self.finished.wait(CANCEL_ROUND_S):
            with contextlib.suppress(OSError):   # ENXIO: the thread is not waiting yet
                os.close(self.wait.opener(partner | os.O_NONBLOCK))
        if self.result is not None and self.result >= 0:
            os.close(self.result)   # now: it counts as a reader or writer while open
        self.result = None


class FifoOpens:
    """The sentry's parked FIFO opens; their threads report through one eventfd."""

    def __init__(self, platform, interrupts):
        self._platform = platform
        self._interrupts = interrupts
        self._done = None   # a queue.SimpleQueue of finished waiters, from the first
        self._eventfd: int | None = None

    def park(self, call, wait: MustWait, run_again):
        """Park `call` until the FIFO has a partner; then `run_again()` (the
        syscall, made again with the opened fd `prepared`) answers it."""
        def opened(result: int) -> None:
            self._interrupts.forget(call)
            if result < 0:
                self._platform.complete(call, result)
                return
            with prepared(wait.key, result):
                self._platform.complete(call, run_again())

        waiter = Waiter(wait, call.tid, opened)
        self._interrupts.watch(call, waiter.cancel)
        self._start(waiter)
        return HELD

    def _start(self, waiter: Waiter) -> None:
        import threading

        if self._eventfd is None:
            import queue

            self._done = queue.SimpleQueue()
            self._eventfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._platform.watch(self._eventfd, self._reap)

        _waiting.add(waiter)

        def run() -> None:
            waiter.run()
            self._done.put(waiter)
            os.eventfd_write(self._eventfd, 1)

        threading.Thread(target=run, name="fifo-open", daemon=True).start()

    def _reap(self, _events: int) -> None:
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self._eventfd)
        while not self._done.empty():
            waiter = self._done.get_nowait()
            _waiting.discard(waiter)
            if waiter.wait.release is not None:
                waiter.wait.release()
            if not waiter.cancelled:   # (a cancelled one closed its fd)
                waiter.on_open(waiter.result)
