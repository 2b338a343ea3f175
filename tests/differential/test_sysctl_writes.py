"""Writing /proc/sys: natively and sandboxed, on both platforms.

Root writes kernel/hostname and kernel/domainname, and uname, gethostname
and getdomainname see it; read-only entries are EACCES even to root, and a
non-root writer is EACCES; nothing new can be made in /proc. The native
side runs in a private UTS namespace (`unshare -u`), so the host's names
never change: each test checks that too.
"""
import shutil
import socket
import subprocess
import sys

import pytest

from tests.conftest import run, sandboxed

PRELUDE = r"""
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
K = "/proc/sys/kernel/"
def names():
    b = ctypes.create_string_buffer(65)
    libc.getdomainname(b, 65)
    return os.uname().nodename, socket.gethostname(), b.value.decode()
def t(name, f):
    try:
        print(name, "ok", f())
    except OSError as e:
        print(name, errno.errorcode[e.errno])
def write(path, data, flags=os.O_WRONLY):
    fd = os.open(path, flags)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)
"""

PROGRAMS = {
    "hostname then uname": r"""
t("write", lambda: write(K + "hostname", b"written-host\n"))
print(names(), repr(open(K + "hostname").read()))
""",
    "domainname with python's open": r"""
with open(K + "domainname", "w") as f:
    f.write("example.test\n")
print(names()[2], repr(open(K + "domainname").read()))
""",
    "writes in pieces": r"""
fd = os.open(K + "hostname", os.O_WRONLY | os.O_TRUNC)
os.close(os.open("/etc/passwd", os.O_RDONLY))   # another file's close forgets nothing
for piece in (b"abc", b"def\nzz", b"ghi", b""):
    print(os.write(fd, piece), names()[0])
os.close(fd)
print(names()[0])
""",
    "longer than the field": r"""
t("write", lambda: write(K + "hostname", b"y" * 100))
print(names()[0], repr(open(K + "hostname").read()))
""",
    "read then write on O_RDWR": r"""
write(K + "hostname", b"before\n")
fd = os.open(K + "hostname", os.O_RDWR)
print(os.read(fd, 200), os.write(fd, b"past-the-end"))
os.close(fd)
print(names()[0])
""",
    "sethostname wins after a write": r"""
fd = os.open(K + "hostname", os.O_WRONLY)
os.write(fd, b"by-write\n")
print(names()[0])
libc.sethostname(b"by-call", 7)
print(names()[0], repr(open(K + "hostname").read()))
os.close(fd)
print(names()[0])
""",
    "a child writes, its parent sees it": r"""
pid = os.fork()
if pid == 0:
    write(K + "hostname", b"from-child\n")
    os._exit(0)
os.waitpid(pid, 0)
print(names()[0])
""",
    "a shell redirect": r"""
import subprocess
subprocess.run(["sh", "-c", "echo from-shell > /proc/sys/kernel/hostname"], check=True)
print(names()[0], subprocess.run(["uname", "-n"], capture_output=True).stdout)
""",
    "read-only entries": r"""
for name in ("osrelease", "ostype", "ngroups_max", "random/boot_id"):
    t(name, lambda: write(K + name, b"9\n"))
    t(name + " rdwr", lambda: os.open(K + name, os.O_RDWR))
    t(name + " trunc", lambda: os.open(K + name, os.O_RDONLY | os.O_TRUNC))
    t(name + " access", lambda: os.access(K + name, os.W_OK))
t("hostname access", lambda: os.access(K + "hostname", os.W_OK))
print(open(K + "osrelease").read() == os.uname().release + "\n")
""",
    "nothing is made or removed": r"""
t("create", lambda: os.open(K + "newknob", os.O_WRONLY | os.O_CREAT, 0o644))
t("create in /proc", lambda: os.open("/proc/newfile", os.O_WRONLY | os.O_CREAT, 0o644))
t("create excl", lambda: os.open(K + "hostname", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
t("create existing", lambda: write(K + "hostname", b"created\n", os.O_WRONLY | os.O_CREAT | os.O_TRUNC))
t("mkdir", lambda: os.mkdir("/proc/sys/newdir"))
t("mkdir in /proc", lambda: os.mkdir("/proc/newdir"))
t("symlink", lambda: os.symlink("x", K + "newlink"))
t("unlink", lambda: os.unlink(K + "hostname"))
t("unlink in /proc", lambda: os.unlink("/proc/version"))
t("rmdir", lambda: os.rmdir(K + "random"))
t("rmdir in /proc", lambda: os.rmdir("/proc/sys"))
t("rename", lambda: os.rename(K + "hostname", K + "renamed"))
t("chmod", lambda: os.chmod(K + "hostname", 0o600))
t("chown", lambda: os.chown(K + "hostname", 1, 1))
print(names()[0])
""",
    "not root": r"""
write(K + "hostname", b"root-set\n")
os.setgroups([]); os.setgid(1000); os.setuid(1000)
t("write", lambda: write(K + "hostname", b"nope\n"))
t("rdwr", lambda: os.open(K + "domainname", os.O_RDWR))
t("read", lambda: open(K + "hostname").read())
t("access", lambda: os.access(K + "hostname", os.W_OK))
print(names()[:2])
""",
    "group root only": r"""
os.setgroups([0]); os.setegid(0); os.seteuid(1000)
t("write", lambda: write(K + "hostname", b"nope\n"))
t("read", lambda: open(K + "hostname").read() != "")
""",
}


@pytest.fixture(scope="module")
def private_uts():
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    if subprocess.run([unshare, "-u", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a UTS namespace here")
    return unshare


@pytest.mark.parametrize("body", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_same_as_linux(platform, private_uts, body):
    host_name = socket.gethostname()
    source = PRELUDE + body
    # the native side runs as root: in its own UTS namespace, never the host's
    native = run([private_uts, "-u", sys.executable, "-c", source])
    inside = sandboxed(platform, sys.executable, "-c", source)
    assert socket.gethostname() == host_name
    assert native.code == 0, native
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)
