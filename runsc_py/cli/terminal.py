"""`do` on a terminal: the workload gets a pty of its own, relayed to the caller's.

The workload lives in a session of its own (it must reach nothing of the
caller's: not its process group, not its terminal), so it cannot have the
terminal runsc-py runs on as its controlling terminal. Like `docker run
-it`, `do` gives it a new pty instead: the sandbox's own (its /dev/pts
shows it, /dev/tty opens it, job control on it is the sandbox's), and the
sentry's loop copies bytes between that pty's master and the caller's
terminal, which stays in raw mode meanwhile, so ^C, ^Z and line editing
are the sandbox pty's. The window size follows the caller's (SIGWINCH).
Only the caller's stdio that is the terminal is replaced: a redirected
stdout or stderr is still passed through as the same open file description.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import termios
import tty

READ_SIZE = 65536


def caller_owns_terminal() -> bool:
    """Whether stdin is runsc-py's controlling terminal and runsc-py is in its
    foreground: only then may it take the terminal to raw mode and relay it."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


class TerminalRelay:
    """The sandbox's pty for a `do` run on a terminal, and the relay to it."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.saved = termios.tcgetattr(0)
        self.master, self.slave = os.openpty()
        os.set_inheritable(self.master, False)
        os.set_inheritable(self.slave, False)
        termios.tcsetattr(self.slave, termios.TCSANOW, self.saved)
        self.resize()
        os.set_blocking(self.master, False)
        self.out = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
        self.pending = b""   # typed, not yet taken by the pty
        kernel.ptys.adopt(self.slave)

    def stdio(self) -> tuple[int, int, int]:
        """The workload's 0-2: the pty for each of the caller's that is the terminal."""
        return tuple(self.slave if os.isatty(fd) else fd for fd in (0, 1, 2))

    def start(self) -> None:
        """Raw mode, and the loop's watches: after the workload is spawned."""
        os.close(self.slave)   # the workload and the sentry's O_PATH fd hold it now
        self.slave = -1
        tty.setraw(0, termios.TCSANOW)
        self.kernel.platform.watch(0, self._typed)
        self.kernel.platform.watch(self.master, self._shown)

    def resize(self) -> None:
        with contextlib.suppress(OSError):
            size = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)

    def finish(self) -> None:
        """Show what the workload wrote last, and give the caller its terminal back."""
        with contextlib.suppress(OSError):
            self._shown(0)
        with contextlib.suppress(OSError):
            termios.tcsetattr(0, termios.TCSADRAIN, self.saved)
        for fd in (self.master, self.slave, self.out):
            if fd >= 0:
                os.close(fd)

    def _typed(self, _events: int) -> None:
        try:
            data = os.read(0, READ_SIZE)
        except OSError:
            data = b""
        if not data:   # the caller's terminal hung up
            self.kernel.platform.unwatch(0)
            return
        self.pending += data
        self._give()

    def _give(self) -> None:
        """Write what was typed as far as the pty takes it now; the rest waits
        for the next event (the loop must never block on the workload)."""
        while self.pending:
            try:
                n = os.write(self.master, self.pending)
            except BlockingIOError:
                return
            except OSError:
                self.pending = b""
                return
            self.pending = self.pending[n:]

    def _shown(self, _events: int) -> None:
        while True:
            try:
                data = os.read(self.master, READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:   # EIO: no slave is open any more
                if exc.errno == errno.EIO:
                    with contextlib.suppress(KeyError, OSError):
                        self.kernel.platform.unwatch(self.master)
                break
            if not data:
                break
            _write_all(self.out, data)
        self._give()


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]
