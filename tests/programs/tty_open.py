"""Opening a terminal without O_NOCTTY: Linux's tty_open makes it the
controlling terminal of a session leader that has none (if it is opened for
reading and no other session has it). Each case runs in a child that
starts a new session; it prints whether /dev/tty then opens, and what the
terminal says of its session. Run natively and sandboxed, the output must match."""
import errno
import fcntl
import os
import signal
import struct



def case(label, slave, flags, leader=True, before=None):
    pid = os.fork()
    if pid == 0:
        try:
            if leader:
                os.setsid()
            else:
                os.setpgid(0, 0)
            if before:
                before()
            fd = os.open(slave, flags)
            try:
                tty = os.open("/dev/tty", os.O_RDWR)
                os.close(tty)
                got = "has a controlling terminal"
            except OSError as e:
                got = "no controlling terminal (" + errno.errorcode[e.errno] + ")"
            try:
                same = os.tcgetpgrp(fd) == os.getpgrp()
            except OSError as e:
                same = errno.errorcode[e.errno]
            print(f"{label}: open gave fd {fd}, {got}, foreground group is mine: {same}", flush=True)
        except OSError as e:
            print(f"{label}: {errno.errorcode[e.errno]}", flush=True)
        os._exit(0)
    os.waitpid(pid, 0)


TIOCGPTN, TIOCSPTLCK = 0x80045430, 0x40045431


def new_pty() -> str:
    """A pty's slave path (its master stays open)."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))   # unlockpt
    return "/dev/pts/%d" % struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]


slave = new_pty()
case("leader opens O_RDWR", slave, os.O_RDWR)
case("leader opens O_RDONLY", slave, os.O_RDONLY)
case("leader opens O_RDWR|O_NOCTTY", slave, os.O_RDWR | os.O_NOCTTY)
case("leader opens O_WRONLY", slave, os.O_WRONLY)
case("non-leader opens O_RDWR", slave, os.O_RDWR, leader=False)
case("leader with a terminal opens another", slave, os.O_RDWR,
     before=lambda: os.close(os.open(new_pty(), os.O_RDWR)))

# a terminal another session controls: the open works, the terminal stays theirs
ready_r, ready_w = os.pipe()
holder = os.fork()
if holder == 0:
    os.setsid()
    os.open(slave, os.O_RDWR)
    os.write(ready_w, b"x")
    signal.pause()   # until killed
os.read(ready_r, 1)
case("leader opens another session's terminal", slave, os.O_RDWR)
os.kill(holder, 9)
os.waitpid(holder, 0)
