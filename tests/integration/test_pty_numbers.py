"""The sandbox's ptys are numbered as a devpts of its own numbers them: from 0,
the lowest free number first, whatever numbers the host's devpts gave them;
ptsname (TIOCGPTN), ttyname, /dev/pts and `tty` all say the same."""
import sys
import textwrap

from tests.conftest import sandboxed

PTYS = textwrap.dedent("""
    import ctypes, os, pty
    libc = ctypes.CDLL(None)
    libc.ptsname.restype = ctypes.c_char_p
    ptsname = lambda fd: libc.ptsname(fd).decode()
    made = [pty.openpty() for _ in range(3)]
    for master, slave in made:
        print(os.ttyname(slave), ptsname(master))
    print(sorted(os.listdir("/dev/pts")))
    for fd in made[1]:
        os.close(fd)
    master, slave = pty.openpty()          # the lowest free number again
    print(os.ttyname(slave), sorted(os.listdir("/dev/pts")))
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fd = os.open(ptsname(master), os.O_RDWR)
        os.dup2(fd, 0)
        os.dup2(fd, 1)
        os.execvp("tty", ["tty"])
    os.waitpid(pid, 0)
    print(os.read(master, 100).decode().strip())
""")


def test_pty_numbers_are_the_sandboxs_own(platform):
    r = sandboxed(platform, sys.executable, "-c", PTYS)
    assert r.code == 0, r
    assert r.out.decode().splitlines() == [
        "/dev/pts/0 /dev/pts/0", "/dev/pts/1 /dev/pts/1", "/dev/pts/2 /dev/pts/2",
        "['0', '1', '2']",
        "/dev/pts/1 ['0', '1', '2']",
        "/dev/pts/1"], r
