"""Reading /proc, /dev and /sys: natively and sandboxed, on both platforms.

The native side of anything that shows pids runs in a fresh pid namespace
with its own /proc, in a session of its own (`unshare --pid --fork
--mount-proc setsid`, as runc starts a container's init): that is Linux's
own answer to "what does a process see as pid 1 of its namespace", which
is what the sandbox must show. Lines that differ for reasons outside
procfs (the seccomp filter the platform installs, the fd table's host size,
supplementary groups the process issue will carry over) are left out.
"""
import shutil
import subprocess

import pytest

from tests.conftest import run, sandboxed

ID_LINES = ("Name", "Umask", "State", "Tgid", "Pid", "PPid", "TracerPid", "Uid", "Gid",
            "NStgid", "NSpid", "NSpgid", "NSsid", "Threads")


@pytest.fixture(scope="module")
def in_pid_namespace():
    """argv -> argv run natively in a new pid namespace with its own /proc."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a pid namespace here: {probe.stderr.decode().strip()}")
    setsid = shutil.which("setsid")
    return lambda argv: [unshare, "--pid", "--fork", "--mount-proc", setsid, *argv]


def both(platform, in_pid_namespace, argv):
    native = run(in_pid_namespace(argv))
    inside = sandboxed(platform, *argv)
    assert native.code == 0 and inside.code == 0, (native, inside)
    return native.out.decode(), inside.out.decode()


SAME_OUTPUT = {
    "ps": "ps",
    "ps columns": "ps -o pid,ppid,pgid,user,group,comm,args",
    "ps in a child": "sh -c 'ps -o pid,ppid,comm,args; true'; true",
    "top": "top -bn1 | tail -n +5 | awk '{print $1, $2, $3, $4, $NF}'",
    "readlinks": ("readlink /proc/self/exe; readlink /proc/1/exe; cd /usr; readlink /proc/self/cwd;"
                  " readlink /proc/self/root; exec 5</etc/passwd 6>/dev/null;"
                  " readlink /proc/self/fd/5; readlink /proc/self/fd/6; ls /proc/self/fd"),
    "redirected stdout": "exec 1>/dev/null; readlink /proc/self/fd/1 >&2",
    "thread-self": "readlink /proc/thread-self; ls /proc/self/task",
    "proc links": "readlink /proc/mounts; readlink /proc/net",
    "stat fields": "cut -d' ' -f1-8 /proc/self/stat",
    "dev links": "for f in fd stdin stdout stderr; do readlink /dev/$f; done",
    "pid dirs": "ls -d /proc/[0-9]*",
    "fd details": ("exec 7</etc/passwd 8>/dev/null; ls -l /proc/self/fd/ 2>&1 |"
                   " awk '{print $1, $5, $9, $10, $11}' | sed 's/[0-9]*]/N]/'"),
    "mount lines": "cut -d' ' -f2,3 /proc/mounts | grep -e ' /proc ' -e ' /sys '; true",
}


@pytest.mark.parametrize("script", SAME_OUTPUT.values(), ids=SAME_OUTPUT.keys())
def test_same_output(platform, busybox, in_pid_namespace, script):
    native, inside = both(platform, in_pid_namespace, [busybox, "sh", "-c", script])
    assert inside == native


def test_status_ids(platform, busybox, in_pid_namespace):
    native, inside = both(platform, in_pid_namespace, [busybox, "cat", "/proc/self/status"])

    def ids(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.split(":")[0] in ID_LINES]

    assert ids(inside) == ids(native)
    assert len(ids(inside)) == len(ID_LINES)


def test_listings_are_a_subset_of_linux(platform, busybox, in_pid_namespace):
    """Every name the sandbox shows Linux shows too (Linux has many more)."""
    for path in ("/proc", "/proc/self", "/proc/self/task/1", "/proc/sys/kernel", "/proc/sys/fs",
                 "/dev"):
        native, inside = both(platform, in_pid_namespace, [busybox, "ls", path])
        extra = set(inside.split()) - set(native.split())
        assert not extra, (path, extra)


PYTHON = {
    "fd listing": "import os; print(sorted(os.listdir('/proc/self/fd')))",
    "cpu count": ("import os, multiprocessing; "
                  "print(os.cpu_count(), multiprocessing.cpu_count(), len(os.sched_getaffinity(0)))"),
    "maps": ("paths = {l.split(None, 5)[5] for l in open('/proc/self/maps') if len(l.split()) == 6}; "
             "print(sorted(paths))"),
    "exe": "import os, sys; print(os.readlink('/proc/self/exe') == os.path.realpath(sys.executable))",
    "mounts parse": ("rows = [l.split() for l in open('/proc/self/mounts')]; "
                     "print(all(len(r) == 6 and r[1].startswith('/') for r in rows), "
                     "any(r[1] == '/proc' and r[2] == 'proc' for r in rows))"),
    "seq read": ("import os; fd = os.open('/proc/self/stat', os.O_RDONLY); a = os.read(fd, 5); "
                 "os.lseek(fd, 0, 0); print(os.read(fd, 5) == a, os.pread(fd, 5, 0) == a)"),
    "cpu lists agree": ("import re; online = open('/sys/devices/system/cpu/online').read(); "
                        "n = len(re.findall(r'(?m)^processor', open('/proc/cpuinfo').read())); "
                        "print(online.strip(), n)"),
    "sysctls": ("print([open('/proc/sys/' + p).read().strip() for p in "
                "('kernel/ostype', 'kernel/ngroups_max', 'fs/nr_open', 'kernel/pid_max')])"),
}


@pytest.mark.parametrize("source", PYTHON.values(), ids=PYTHON.keys())
def test_python(platform, source):
    native = run(["python3", "-c", source])
    inside = sandboxed(platform, "python3", "-c", source)
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)


OPENAT2_THROUGH_PROC = r"""
import ctypes, errno, os, struct
libc = ctypes.CDLL(None, use_errno=True)
def openat2(dirfd, path, flags, resolve):
    how = struct.pack("QQQ", flags, 0, resolve)
    buf = ctypes.create_string_buffer(how)
    r = libc.syscall(437, dirfd, path.encode(), buf, len(how))
    if r < 0:
        return errno.errorcode[ctypes.get_errno()]
    os.close(r)
    return "ok"
fd = os.open("/etc/passwd", os.O_RDONLY)
r, w = os.pipe()
proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
for name, res in (("NO_MAGICLINKS", 2), ("NO_SYMLINKS", 4), ("BENEATH", 8), ("IN_ROOT", 0x10), ("NO_XDEV", 1), ("none", 0)):
    print(name, [openat2(-100, p, os.O_RDONLY, res) for p in (f"/proc/self/fd/{fd}", f"/proc/self/fd/{r}", "/proc/self/exe")],
          [openat2(proc, p, os.O_RDONLY, res) for p in (f"self/fd/{fd}", "self/status")])
"""


def test_openat2_scopes_on_magic_links(platform):
    """RESOLVE_* against /proc/self/fd/N, exe and self: Linux's nd_jump_link answers."""
    native = run(["python3", "-c", OPENAT2_THROUGH_PROC])
    inside = sandboxed(platform, "python3", "-c", OPENAT2_THROUGH_PROC)
    assert native.code == 0 and (inside.code, inside.out, inside.err) == (0, native.out, native.err)


PROC_MEM = r'''
import ctypes, os
buf = ctypes.create_string_buffer(b"secret-bytes-here")
addr = ctypes.addressof(buf)
fd = os.open("/proc/self/mem", os.O_RDONLY)
print("read own", os.pread(fd, 12, addr))
ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    buf.value = b"child-bytes"
    os.write(ready_w, b"x")
    os.read(go_r, 1)
    os._exit(0)
os.read(ready_r, 1)
cfd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
print("child's", os.pread(cfd, 11, addr))
print("mode", oct(os.stat("/proc/self/mem").st_mode & 0o777))
other = os.fork()
if other == 0:   # another user may not attach to it
    os.setgid(65534); os.setuid(65534)
    try:
        os.open(f"/proc/{os.getppid()}/mem", os.O_RDONLY)
        os._exit(0)
    except PermissionError:
        os._exit(13)
print("nobody opening root's", os.waitstatus_to_exitcode(os.waitpid(other, 0)[1]))
os.write(go_w, b"x"); os.waitpid(pid, 0)
try:
    os.pread(fd, 4, 0)
except OSError as e:
    print("unmapped address", e.errno)
'''


def test_proc_mem_reads_a_process_memory(platform, in_pid_namespace):
    """/proc/<pid>/mem: a process's memory at its addresses, for a caller
    that may attach to it (not another user), EIO where nothing is mapped."""
    argv = ["python3", "-c", PROC_MEM]
    native = run(in_pid_namespace(argv))
    inside = sandboxed(platform, *argv)
    assert native.code == 0 and b"child's b'child-bytes'" in native.out, native
    assert (inside.code, inside.out) == (native.code, native.out), (native, inside)


def test_proc_mem_opens_for_reading_only(platform):
    """Writing through /proc/<pid>/mem is not offered (docs/compatibility.md):
    the confined sentry cannot open the host's for writing."""
    r = sandboxed(platform, "python3", "-c",
                  "import os\ntry:\n    os.open('/proc/self/mem', os.O_RDWR)\n"
                  "except PermissionError:\n    print('EACCES')")
    assert (r.code, r.out) == (0, b"EACCES\n"), r
