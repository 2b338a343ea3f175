"""Sessions and controlling terminals on a pty the program makes itself.

`python3 tty_sessions.py BUSYBOX`: pty.fork() (openpty, setsid, TIOCSCTTY)
makes a session with the pty as its controlling tty; TIOCGSID, TIOCGPGRP
and TIOCSPGRP are checked, then the session leader exits with another
group in the foreground, which must get SIGHUP, and a stopped group that
the exit orphans, which must get SIGHUP and SIGCONT. Then an interactive
busybox sh on a pty runs jobs: `&`, `jobs`, `kill %1`, ^Z, `bg`, ^C.
Each line printed is a fact that must hold natively and sandboxed.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

TIOCGSID = 0x5429


def tiocgsid(fd: int) -> int:
    return struct.unpack("i", fcntl.ioctl(fd, TIOCGSID, b"\0" * 4))[0]


def drain(fd: int, until: bytes | None = None, timeout: float = 10) -> bytes:
    """Read the master until `until` shows (or EOF, or the timeout)."""
    out = b""
    deadline = time.monotonic() + timeout
    while until is None or until not in out:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every slave is closed
            break
        if not chunk:
            break
        out += chunk
    return out


def session_and_hangup() -> None:
    report_r, report_w = os.pipe()
    pid, master = pty.fork()
    if pid == 0:  # the session leader, the pty its controlling terminal
        os.close(report_r)
        me = os.getpid()
        facts: list[str] = [f"leader {os.getsid(0) == me}", f"TIOCGSID {tiocgsid(0) == me}",
                 f"TIOCGPGRP {os.tcgetpgrp(0) == os.getpgrp() == me}"]
        ready_r, ready_w = os.pipe()
        kid = os.fork()
        if kid == 0:  # a group of its own, made the foreground
            os.setpgid(0, 0)
            got = []
            signal.signal(signal.SIGHUP, lambda *a: got.append("SIGHUP"))
            os.write(ready_w, b"x")
            deadline = time.monotonic() + 10
            while not got and time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(report_w, f"foreground group got {' '.join(got) or 'nothing'}\n".encode())
            os._exit(0)
        stopper = os.fork()
        if stopper == 0:  # a group of its own that stops: orphaned when the leader exits
            os.setpgid(0, 0)
            got = []
            signal.signal(signal.SIGHUP, lambda *a: got.append("SIGHUP"))
            signal.signal(signal.SIGCONT, lambda *a: got.append("SIGCONT"))
            os.write(ready_w, b"x")
            os.kill(os.getpid(), signal.SIGSTOP)
            deadline = time.monotonic() + 10
            while len(got) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(report_w, f"stopped orphaned group got {' '.join(got) or 'nothing'}\n".encode())
            os._exit(0)
        os.read(ready_r, 1)
        os.read(ready_r, 1)
        deadline = time.monotonic() + 10
        while (state := open(f"/proc/{stopper}/stat").read().rsplit(")", 1)[1].split()[0]) != "T" \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        facts.append(f"stopped group's state {state}")
        os.tcsetpgrp(0, kid)
        facts.append(f"TIOCSPGRP {os.tcgetpgrp(0) == kid}")
        try:
            os.tcsetpgrp(0, 99999)
        except OSError as e:
            facts.append(f"TIOCSPGRP to no group {e.errno}")
        os.write(report_w, (", ".join(facts) + "\n").encode())
        os._exit(0)  # the leader exits: SIGHUP to the foreground group
    os.close(report_w)
    sys.stderr.write(drain(master).decode(errors="replace"))  # nothing, unless it failed
    os.waitpid(pid, 0)
    report = b""
    while chunk := os.read(report_r, 1000):
        report += chunk
    sys.stdout.write("".join(sorted(report.decode().splitlines(keepends=True))))
    sys.stdout.flush()
    # from a child: this program may itself lead a session (a sandbox's init
    # does, as runc's does), and a leader without a terminal may take one
    child = os.fork()
    if child == 0:
        try:
            fcntl.ioctl(master, termios.TIOCSCTTY, 0)
        except OSError as e:
            print("TIOCSCTTY by a non-leader", e.errno, flush=True)
        os._exit(0)
    os.waitpid(child, 0)


def job_control(busybox: str) -> None:
    pid, master = pty.fork()
    if pid == 0:
        os.execve(busybox, ["sh", "-i"], {"PS1": "$ ", "PATH": os.environ["PATH"], "ENV": ""})
    drain(master, b"$ ")

    marks = iter(range(1, 1000))

    def say(keys: bytes) -> str:
        """Type `keys`, then a marker command; return what the shell printed up to
        the marker's output (`@@N@@`, which its echoed input `@@$((N-1+1))@@` is not)."""
        os.write(master, keys)
        k = next(marks)
        os.write(master, b"echo @@$((%d+1))@@\n" % k)
        return drain(master, b"@@%d@@" % (k + 1)).decode(errors="replace").replace("\r", "")

    def comm(of: int) -> str:
        try:
            with open(f"/proc/{of}/comm") as f:
                return f.read()
        except OSError:
            return ""

    def foreground_job(line: bytes) -> None:
        """Start a job in the foreground; return once it has the terminal and has exec'd
        (before, the shell's child would take ^Z and ^C as the shell does)."""
        os.write(master, line)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            group = os.tcgetpgrp(master)
            if group != pid and comm(group) not in ("", comm(pid)):
                break
            time.sleep(0.01)

    out = say(b"sleep 30 &\n") + say(b"echo pid=$!\n")
    job = int(re.search(r"pid=(\d+)", out).group(1))
    deadline = time.monotonic() + 10
    while comm(job) in ("", comm(pid)) and time.monotonic() < deadline:
        time.sleep(0.01)   # until it has exec'd: the shell's child ignores SIGTERM until then
    out += say(b"jobs\n")
    print("background job listed:", bool(re.search(r"\[1\]\+? +Running +sleep 30", out)))
    print("kill %1:", "status 143" in say(b"kill %1; wait %1; echo status $?\n"))
    foreground_job(b"sleep 30\n")
    out = say(b"\x1a")  # ^Z: SIGTSTP to the foreground group
    print("^Z stops it:", bool(re.search(r"Stopped", out)))
    out = say(b"jobs\n")
    print("stopped job listed:", bool(re.search(r"\[1\]\+? +Stopped +sleep 30", out)))
    say(b"bg %1\n")
    for _ in range(50):  # the shell learns of the job's SIGCONT when it next waits
        out = say(b"jobs\n")
        if re.search(r"Running +sleep 30", out):
            break
        time.sleep(0.1)
    print("bg resumes it:", bool(re.search(r"Running +sleep 30", out)))
    print("kill -9 %1:", "status 137" in say(b"kill -9 %1; wait %1; echo status $?\n"))
    foreground_job(b"sleep 30\n")
    out = say(b"\x03echo status $?\n")  # ^C: SIGINT to the foreground group
    print("^C interrupts it:", "status 130" in out)
    os.write(master, b"exit\n")
    drain(master)
    _, status = os.waitpid(pid, 0)
    print("shell exit:", os.waitstatus_to_exitcode(status))


session_and_hangup()
job_control(sys.argv[1])
