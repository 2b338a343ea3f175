"""Process-related calls the sentry answers: signalfd, timerfd, pidfds, seccomp, sysinfo.

Differential where the output is deterministic; the sandbox-only facts
(sysinfo's view, a refused seccomp listener) are checked directly.
"""
from tests.conftest import run, sandboxed

FD_OBJECTS = r'''
import ctypes, os, select, signal, struct, time
libc = ctypes.CDLL(None, use_errno=True)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
mask = ctypes.c_uint64(1 << (signal.SIGUSR1 - 1))
sfd = libc.signalfd(-1, ctypes.byref(mask), os.O_CLOEXEC)
os.kill(os.getpid(), signal.SIGUSR1)
signo, _errno, code, pid, uid = struct.unpack("<IiiII", os.read(sfd, 128)[:20])
print("signalfd", signo, code, pid == os.getpid(), uid)
mask2 = ctypes.c_uint64(1 << (signal.SIGUSR2 - 1))
print("new mask", libc.signalfd(sfd, ctypes.byref(mask2), 0) == sfd)
print("not a signalfd", libc.signalfd(1, ctypes.byref(mask2), 0), ctypes.get_errno())
tfd = libc.timerfd_create(1, os.O_NONBLOCK)
print("settime", libc.timerfd_settime(tfd, 0, struct.pack("<qqqq", 0, 0, 0, 20_000_000), None))
select.select([tfd], [], [], 5)
print("expirations", struct.unpack("<Q", os.read(tfd, 8))[0])
print("bad clock", libc.timerfd_create(99, 0), ctypes.get_errno())
pid = os.fork()
if pid == 0:
    time.sleep(30); os._exit(0)
pfd = os.pidfd_open(pid)
signal.pidfd_send_signal(pfd, signal.SIGTERM)
print("waitid P_PIDFD", os.waitid(os.P_PIDFD, pfd, os.WEXITED).si_status)
try:
    os.pidfd_open(99999)
except ProcessLookupError:
    print("pidfd_open ESRCH")
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r); time.sleep(30); os._exit(0)
os.close(w)
pfd = os.pidfd_open(pid)
wfd = libc.syscall(438, pfd, w, 0)  # pidfd_getfd
os.write(wfd, b"through the child's fd")
os.close(wfd)
print("pidfd_getfd", os.read(r, 100))
print("pidfd_getfd EBADF", libc.syscall(438, pfd, 77, 0), ctypes.get_errno())
print("pidfd_getfd on a non-pidfd", libc.syscall(438, r, 0, 0), ctypes.get_errno())
os.kill(pid, 9); os.waitpid(pid, 0)
signal.signal(signal.SIGUSR2, lambda *a: print("signalled through a /proc/<pid> fd"))
d = os.open(f"/proc/{os.getpid()}", os.O_DIRECTORY)
signal.pidfd_send_signal(d, signal.SIGUSR2)
os.close(d)
'''

SECCOMP_FILTER = r'''
import ctypes, errno, os, struct
libc = ctypes.CDLL(None, use_errno=True)
def filter_denying(nr):
    insns = [(0x20, 0, 0, 0), (0x15, 0, 1, nr), (0x06, 0, 0, 0x00050000 | errno.EPERM),
             (0x06, 0, 0, 0x7FFF0000)]
    prog = b"".join(struct.pack("<HBBI", *i) for i in insns)
    buf = ctypes.create_string_buffer(prog)
    fprog = struct.pack("<HxxxxxxQ", len(insns), ctypes.addressof(buf))
    return buf, ctypes.create_string_buffer(fprog)
keep = []
for nr in (79, 39):  # getcwd (the sentry answers it), getpid (the C fast path does)
    buf, fprog = filter_denying(nr)
    keep.append(buf)
    print("install", libc.syscall(317, 1, 0, fprog), ctypes.get_errno())
for name, call in (("getcwd", os.getcwd), ("getpid", lambda: libc.syscall(39) < 0 and ctypes.get_errno())):
    try:
        print(name, call())
    except OSError as e:
        print(name, e.errno)
print("getppid still works", os.getppid() >= 0)
'''


def _same(platform, code):
    native = run(["python3", "-c", code])
    inside = sandboxed(platform, "python3", "-c", code)
    assert native.code == 0, native
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err), (native, inside)


def test_signalfd_timerfd_and_pidfds(platform):
    _same(platform, FD_OBJECTS)


def test_workload_seccomp_filter_stacks(platform):
    _same(platform, SECCOMP_FILTER)


def test_seccomp_listener_is_refused(platform):
    code = ("import ctypes, struct\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "insn = ctypes.create_string_buffer(struct.pack('<HBBI', 6, 0, 0, 0x7FFF0000))\n"
            "prog = ctypes.create_string_buffer(struct.pack('<HxxxxxxQ', 1, ctypes.addressof(insn)))\n"
            "print(libc.syscall(317, 1, 8, prog), ctypes.get_errno())\n"
            "action = ctypes.c_uint32(0x7FC00000)\n"
            "print(libc.syscall(317, 2, 0, ctypes.byref(action)), ctypes.get_errno())\n")
    r = sandboxed(platform, "python3", "-c", code)
    assert r.out == b"-1 16\n-1 95\n", r  # EBUSY: the sandbox holds the listener; USER_NOTIF: EOPNOTSUPP


def test_sysinfo_is_the_sandboxes_view(platform):
    code = ("import ctypes, struct, threading, time\n"
            "buf = ctypes.create_string_buffer(112)\n"
            "ev = threading.Event(); t = threading.Thread(target=ev.wait); t.start()\n"
            "ctypes.CDLL(None).sysinfo(buf)\n"
            "ev.set()\n"
            "up, l1, l2, l3, total, free = struct.unpack_from('<q3Q2Q', buf)\n"
            "procs, = struct.unpack_from('<H', buf, 80)\n"
            "unit, = struct.unpack_from('<I', buf, 104)\n"
            "print(up, procs, unit, total > free > 0)\n")
    r = sandboxed(platform, "python3", "-c", code)
    assert r.out == b"0 2 1 True\n", r  # seconds since the sandbox started; its 2 threads



def test_unshare_without_namespaces(platform, program):
    """unshare(0) and the no-op flags succeed, and CLONE_FILES/CLONE_FS give a
    process that shared them (clone(CLONE_FILES|CLONE_FS)) its own: the
    sandbox refused every unshare (EPERM)."""
    native = run([program("unshare")])
    inside = sandboxed(platform, program("unshare"))
    assert native.code == 0 and b"unshared: child exit 0, the parent's fd open" in native.out, native
    assert (inside.code, inside.out) == (native.code, native.out), (native, inside)


UTS_SCRIPT = """
hostname
unshare -u sh -c 'hostname inner; hostname; cat /proc/sys/kernel/hostname; uname -n'
hostname
unshare -u sh -c 'echo inner.dom > /proc/sys/kernel/domainname; uname -a | grep -c inner.dom;
                  domainname'
domainname
su -s /bin/sh nobody -c 'unshare -u true' 2>&1 | grep -c 'Operation not permitted'
"""


def test_a_uts_namespace_of_its_own(platform):
    """unshare(CLONE_NEWUTS): the caller's host and domain names are its own
    from then on (uname, /proc/sys/kernel), its parent's stay; an
    unprivileged caller gets EPERM. Native side: in a UTS namespace of its
    own, named as the sandbox is, so the host's names are never touched
    (unshare and su: util-linux, which setup.sh installs)."""
    native = run(["unshare", "--uts", "sh", "-c",
                  f"hostname runsc-py; domainname '(none)'; {UTS_SCRIPT}"])
    inside = sandboxed(platform, "sh", "-c", UTS_SCRIPT)
    assert native.code == 0 and native.out.startswith(b"runsc-py\ninner\n"), native
    assert (inside.code, inside.out) == (native.code, native.out), (native, inside)


NS_LINKS = r'''
import ctypes, os
kinds = sorted(os.listdir("/proc/self/ns"))
print(kinds)
def ino(kind, pid="self"):
    text = os.readlink(f"/proc/{pid}/ns/{kind}")
    name, _, rest = text.partition(":[")
    assert name == kind.removesuffix("_for_children"), text
    assert os.stat(f"/proc/{pid}/ns/{kind}").st_ino == int(rest[:-1]), text
    return int(rest[:-1])
before = {k: ino(k) for k in kinds}
print("pid_for_children is pid", before["pid_for_children"] == before["pid"])
r, w = os.pipe()
child = os.fork()
if child == 0:
    os.read(r, 1)
    os._exit(0)
print("a child shares all", all(ino(k, child) == before[k] for k in kinds))
assert ctypes.CDLL(None, use_errno=True).unshare(0x04000000) == 0   # CLONE_NEWUTS
print("after unshare(uts): changed", [k for k in kinds if ino(k) != before[k]])
print("the child keeps its", ino("uts", child) == before["uts"])
os.write(w, b"x"); os.waitpid(child, 0)
for name in ("vm/mmap_min_addr", "kernel/keys/maxkeys", "kernel/keys/maxbytes"):
    print(name, open(f"/proc/sys/{name}").read().strip().isdigit())
'''


def test_proc_pid_ns_names_each_namespace(platform):
    """/proc/<pid>/ns/*: `kind:[inode]` links whose stat gives that inode,
    shared with a child, a new one for the caller of unshare(CLONE_NEWUTS)
    only. Native side: in pid (with its own /proc), mount, IPC and UTS
    namespaces of its own."""
    argv = ["python3", "-c", NS_LINKS]
    native = run(["unshare", "--uts", "--ipc", "--mount", "--pid", "--fork", "--mount-proc", *argv])
    inside = sandboxed(platform, *argv)
    assert native.code == 0 and b"changed ['uts']" in native.out, native
    assert (inside.code, inside.out) == (native.code, native.out), (native, inside)


THREAD_NAMES = r'''
import ctypes, os, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, b"leader-name", 0, 0, 0)
def name_of(tid=None):
    return open(f"/proc/self/task/{tid}/comm" if tid else "/proc/self/comm").read()
def worker():
    tid = threading.get_native_id()
    print("a new thread starts with its creator's", repr(name_of(tid)))
    libc.prctl(15, b"worker", 0, 0, 0)
    print("its own after PR_SET_NAME", repr(name_of(tid)), "leader's", repr(name_of()))
    with open(f"/proc/self/task/{tid}/comm", "w") as f:
        f.write("written-through-proc-0123456789")
    got = ctypes.create_string_buffer(16)
    libc.prctl(16, got, 0, 0, 0)
    print("written, 15 bytes", got.value, repr(name_of(tid)))
th = threading.Thread(target=worker)
th.start(); th.join()
print("the leader's is its own", repr(name_of()))
with open("/proc/self/comm", "w") as f:
    f.write("new\n")
print("a newline written is kept", repr(name_of()))
'''


def test_each_thread_has_its_own_name(platform):
    """comm is per thread (PR_SET_NAME, /proc/<pid>/task/<tid>/comm), a new
    thread starts with its creator's, and a process writes its threads'
    (15 bytes, as written)."""
    argv = ["python3", "-c", THREAD_NAMES]
    native = run(argv)
    inside = sandboxed(platform, *argv)
    assert native.code == 0 and b"'leader-name\\n'" in native.out, native
    assert (inside.code, inside.out) == (native.code, native.out), (native, inside)
