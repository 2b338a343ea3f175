"""Sessions, process groups and controlling terminals, natively and sandboxed.

A sandbox's sessions and groups are host ones numbered by its pid
namespace, and its ptys are host ptys: TIOCSCTTY, TIOCSPGRP, TIOCGPGRP,
TIOCGSID run natively and the host's tty layer sends SIGHUP, SIGTSTP,
SIGINT to the right group. The sentry only keeps a workload from stealing
a terminal whose session is outside the sandbox.
"""
import os
import pty

from tests.conftest import PROGRAMS, RUNSC_PY
from tests.differential.compare import assert_same

TTY_SESSIONS = str(PROGRAMS / "tty_sessions.py")

STEAL = (
    "import fcntl, os, termios\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    try:\n"
    "        fcntl.ioctl(0, termios.TIOCSCTTY, 1)\n"
    "        print('stole the terminal')\n"
    "    except OSError as e:\n"
    "        print('TIOCSCTTY steal:', e.errno)\n"
    "    os._exit(0)\n"
    "os.wait()\n"
)


def test_sessions_and_job_control_on_a_pty(platform, busybox):
    assert_same(platform, ["python3", TTY_SESSIONS, busybox], timeout=120)


def test_terminal_of_the_caller_cannot_be_stolen(platform):
    """runsc-py's own terminal (here a pty whose session is runsc-py's) belongs to a
    session outside the sandbox: a sandbox session leader, even root, may not take it."""
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(RUNSC_PY[0], RUNSC_PY + ["do", f"--platform={platform}", "--",
                                            "python3", "-c", STEAL])
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    assert b"TIOCSCTTY steal: 1" in out, out
