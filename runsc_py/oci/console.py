"""`terminal: true`: a pty for the workload, its master sent to the engine.

As runc does: the master goes to `--console-socket` with SCM_RIGHTS, the
message payload naming it; the slave is the workload's fds 0-2 and its
controlling terminal (a new session). The engine resizes with TIOCSWINSZ
on the master, and the host's tty layer sends SIGWINCH to the workload's
foreground process group. TIOCSTI on the slave is refused by the sentry
(it is not among the terminal ioctls that run natively).
"""
from __future__ import annotations

import fcntl
import os
import struct
import termios

from runsc_py.sandbox import control


def open_console(size: tuple[int, int] | None) -> tuple[int, int]:
    """(master, slave) of a new pty, with the spec's (height, width) if given."""
    master, slave = os.openpty()
    os.set_inheritable(master, False)
    os.set_inheritable(slave, False)
    if size and size[0] and size[1]:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    return master, slave


def send_master(console: str | int, master: int) -> None:
    """Hand the master to the engine's console socket (runc's protocol):
    its path, or an fd of a connection to it made by the caller."""
    import socket

    sock = socket.socket(fileno=os.dup(console)) if isinstance(console, int) \
        else control.connect(os.path.abspath(console))
    with sock:
        socket.send_fds(sock, [b"/dev/ptmx"], [master])
