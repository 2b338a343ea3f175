"""Sessions, process groups and controlling terminals, natively and sandboxed.

A sandbox's sessions and groups are host ones numbered by its pid
namespace, and its ptys are host ptys: TIOCSCTTY, TIOCSPGRP, TIOCGPGRP,
TIOCGSID run natively and the host's tty layer sends SIGHUP, SIGTSTP,
SIGINT to the right group. The sentry only keeps a workload from stealing
a terminal whose session is outside the sandbox.
"""
import os
import pty

import pytest

from tests.conftest import PROGRAMS, RUNSC_PY, run, sandboxed
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
    native = run(["python3", TTY_SESSIONS, busybox], timeout=120)
    inside = sandboxed(platform, "python3", TTY_SESSIONS, busybox, timeout=120)
    assert (inside.code, inside.err) == (native.code, native.err), (native, inside)
    assert inside.out.decode().splitlines() == native.out.decode().splitlines()


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


GROUPS_AND_SIGNALS = r'''
import os, signal
# kill(0) and killpg from a child that left init's group reach its own group only
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.kill(0, signal.SIGTERM)
    os.killpg(os.getpgid(0), signal.SIGTERM)
    os._exit(0)
os.waitpid(pid, 0)
print("kill(0) from another group spared the parent")
# SIGCONT needs no matching uid within a session, and does outside it
go_r, go_w = os.pipe()
done_r, done_w = os.pipe()
target = os.fork()
if target == 0:
    os.setresuid(2000, 2000, 2000)
    signal.signal(signal.SIGCONT, lambda *a: None)
    os.read(go_r, 1)
    os.setsid()
    os.write(done_w, b"x")
    os.read(go_r, 1)
    os._exit(0)
sender = os.fork()
if sender == 0:
    os.setresuid(1000, 1000, 1000)
    for where in ("same session", "after the target's setsid"):
        try:
            os.kill(target, signal.SIGCONT)
            print(where, "SIGCONT delivered")
        except PermissionError:
            print(where, "SIGCONT EPERM")
        try:
            os.kill(target, signal.SIGUSR1)
        except PermissionError:
            print(where, "SIGUSR1 EPERM")
        os.write(go_w, b"x")
        if where == "same session":
            os.read(done_r, 1)
    os._exit(0)
os.waitpid(sender, 0)
os.waitpid(target, 0)
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="the native side must start as root to change ids")
def test_groups_and_sessions_as_they_are_now(platform):
    """setpgid and setsid run natively: kill's checks must see the groups as they are."""
    assert_same(platform, ["python3", "-c", GROUPS_AND_SIGNALS])


def test_open_makes_the_controlling_terminal(platform):
    """tty_open's rule: a session leader with no terminal that opens one
    without O_NOCTTY, for reading, gets it (not with O_NOCTTY, write-only,
    as a non-leader, or when another session has it)."""
    assert_same(platform, ["python3", str(PROGRAMS / "tty_open.py")], timeout=60)
