"""ioctls programs use on terminals, inotify and sockets, as Linux answers them.

    python3 ioctls.py DIR      (DIR empty)

TCGETS2/TCSETS2 (struct termios2, custom speeds), TIOCGPTPEER (a pty's
slave from its master, without a path), FIONREAD on an inotify instance
(the bytes of the events queued), a socket's SIGIO owner (FIOSETOWN,
SIOCSPGRP and their getters). Run natively and sandboxed, the
outputs must match (tests/differential/test_ioctls.py).
"""
import ctypes
import errno
import fcntl
import os
import struct
import sys
import termios

TCGETS2, TCSETS2, TIOCGPTPEER = 0x802C542A, 0x402C542B, 0x5441
BOTHER = 0o10000
CBAUD = 0o10017


def show(label, fn):
    try:
        out = fn()
    except OSError as exc:
        out = errno.errorcode.get(exc.errno, exc.errno)
    print(f"{label}: {out}", flush=True)


def terminals():
    master, slave = os.openpty()
    raw = fcntl.ioctl(slave, TCGETS2, bytes(44))
    show("TCGETS2 speeds", lambda: struct.unpack_from("<II", raw, 36))
    cflag = (struct.unpack_from("<I", raw, 8)[0] & ~CBAUD) | BOTHER
    custom = raw[:8] + struct.pack("<I", cflag) + raw[12:36] + struct.pack("<II", 12345, 12345)
    show("TCSETS2 a custom speed", lambda: fcntl.ioctl(slave, TCSETS2, custom) and None)
    show("TCGETS2 after", lambda: struct.unpack_from("<II", fcntl.ioctl(slave, TCGETS2, bytes(44)),
                                                      36))
    peer = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    show("TIOCGPTPEER is a tty", lambda: os.isatty(peer))
    show("TIOCGPTPEER is the slave", lambda: os.ttyname(peer) == os.ttyname(slave))
    show("TIOCGPTPEER close-on-exec", lambda: fcntl.fcntl(peer, fcntl.F_GETFD))
    os.write(peer, b"through the peer\n")
    show("the master reads", lambda: os.read(master, 100))
    show("TIOCGPTPEER of a slave", lambda: fcntl.ioctl(slave, TIOCGPTPEER, os.O_RDWR))


def inotify(top):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    libc.inotify_add_watch(fd, os.fsencode(top), 0x100 | 0x200)   # IN_CREATE | IN_DELETE
    show("FIONREAD, nothing queued", lambda: struct.unpack(
        "i", fcntl.ioctl(fd, termios.FIONREAD, bytes(4)))[0])
    open(os.path.join(top, "made"), "w").close()
    os.unlink(os.path.join(top, "made"))
    show("FIONREAD, two events", lambda: struct.unpack(
        "i", fcntl.ioctl(fd, termios.FIONREAD, bytes(4)))[0])
    show("read gives as many", lambda: len(os.read(fd, 4096)))


def socket_owner():
    """FIOSETOWN/SIOCSPGRP and their getters, on any socket: its SIGIO owner."""
    import socket

    for family in (socket.AF_INET, socket.AF_UNIX):
        s = socket.socket(family, socket.SOCK_STREAM)
        fcntl.ioctl(s, 0x8902, struct.pack("i", os.getpid()))          # SIOCSPGRP
        show(f"SIOCGPGRP {family.name}", lambda: struct.unpack(
            "i", fcntl.ioctl(s, 0x8904, bytes(4)))[0] == os.getpid())
        fcntl.ioctl(s, 0x8901, struct.pack("i", -os.getpgrp()))        # FIOSETOWN, a group
        show(f"FIOGETOWN {family.name}", lambda: struct.unpack(
            "i", fcntl.ioctl(s, 0x8903, bytes(4)))[0] == -os.getpgrp())
    r, _w = os.pipe()
    show("FIOSETOWN on a pipe", lambda: fcntl.ioctl(r, 0x8901, struct.pack("i", os.getpid())))


if __name__ == "__main__":
    terminals()
    inotify(sys.argv[1])
    socket_owner()
