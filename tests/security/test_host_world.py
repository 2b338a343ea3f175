"""The workload's host-side world is empty and unprivileged.

Whatever the sandbox's own identities, every workload task is, to the host,
an unprivileged user with no capability, no_new_privs, the sandbox's
filter, a session and process group of its own, fresh namespaces, a
read-only root with no host /proc, /sys or /dev, and a core limit of 1
byte (the kernel's "never", for a file and for a core_pattern pipe alike).
These tests read that from the host's /proc while a sandbox runs, and
attack what it guards: a host process in runsc-py's own process group, a
host file named `core` in the caller's cwd, host scheduling and memory.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
import time


from tests.conftest import RUNSC_PY, TESTS, finish
from tests.oci.conftest import bundle  # noqa: F401 - the OCI tests' fixture
from tests.security import hostview

REPO = TESTS.parent
CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
NAMESPACES = ("pid", "mnt", "net", "ipc", "uts")

# A workload with a second thread and a child process, all of them waiting.
THREADS_AND_CHILD = (
    "import os, threading, time\n"
    "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    "if os.fork() == 0:\n"
    "    time.sleep(30); os._exit(0)\n"
    "print('ready', flush=True)\n"
    "time.sleep(30)\n"
)


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _root_mount(pid: int) -> tuple[str, set[str]]:
    """The workload's `/` in its own mount namespace: (fstype, options)."""
    with open(f"/proc/{pid}/mountinfo") as f:
        lines = [line.split() for line in f]
    for fields in lines:
        if fields[4] == "/":
            sep = fields.index("-")
            return fields[sep + 1], set(fields[5].split(","))
    raise AssertionError(f"no / in the mountinfo of {pid}")


def assert_unprivileged(tid: int) -> None:
    st = hostview.status(tid)
    for cap_set in CAP_SETS:
        assert int(st[cap_set], 16) == 0, (tid, cap_set, st[cap_set])
    assert st["NoNewPrivs"] == "1", (tid, st["NoNewPrivs"])
    assert st["Seccomp"] == "2", (tid, st["Seccomp"])
    uids, gids = set(st["Uid"].split()), set(st["Gid"].split())
    assert len(uids) == 1 and "0" not in uids, (tid, st["Uid"])
    assert len(gids) == 1 and "0" not in gids, (tid, st["Gid"])
    assert st["Groups"].strip() == "", (tid, st["Groups"])
    for ns in NAMESPACES:
        assert os.readlink(f"/proc/{tid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), (tid, ns)
    fields = _stat_fields(tid)
    pgrp, session = int(fields[2]), int(fields[3])
    assert session != os.getsid(0) and pgrp != os.getpgid(0), (tid, pgrp, session)
    _fstype, options = _root_mount(tid)
    assert {"ro", "nosuid", "nodev"} <= options, (tid, options)
    assert os.readlink(f"/proc/{tid}/cwd") == "/", (tid, os.readlink(f"/proc/{tid}/cwd"))
    with open(f"/proc/{tid}/mountinfo") as f:
        fstypes = {line.split(" - ")[1].split()[0] for line in f}
    assert not fstypes & {"proc", "sysfs", "devtmpfs", "cgroup", "cgroup2"}, (tid, fstypes)
    with open(f"/proc/{tid}/limits") as f:
        core = next(line for line in f if line.startswith("Max core file size")).split()
    assert core[4:6] == ["1", "1"], (tid, core)   # below any core; "never" for a pipe too


def assert_all_unprivileged(tids: list[int], at_least: int) -> None:
    """Check every task still there (a shell's short-lived fork may be gone)."""
    checked = 0
    for tid in tids:
        try:
            assert_unprivileged(tid)
        except FileNotFoundError:
            continue
        checked += 1
    assert checked >= at_least, (tids, checked)


def test_every_workload_task_is_unprivileged_on_the_host(platform):
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", "--", sys.executable, "-c",
                                        THREADS_AND_CHILD], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        tids = hostview.wait_for_workload(proc.pid, 3)
        assert_all_unprivileged(tids, 3)   # init, its thread, its child
        uids = {hostview.status(t)["Uid"] for t in tids}
        assert len(uids) == 1, uids   # one host user for the whole sandbox
    finally:
        proc.kill()
        finish(proc)


def test_an_oci_container_is_unprivileged_on_the_host(bundle):
    bundle.config(["sh", "-c", "sleep 30 & sleep 30"])
    assert bundle.cli("create", "--bundle", str(bundle.path), "c1",
                      stdin=subprocess.DEVNULL).returncode == 0
    assert bundle.cli("start", "c1").returncode == 0
    sentry = bundle.state("c1")["pid"]
    tids = hostview.wait_for_workload(sentry, 2)
    assert_all_unprivileged(tids, 2)
    bundle.cli("delete", "--force", "c1")


# kill(0), killpg and kill(-1) from init, with and without handlers: they reach
# the sandbox's own processes, never the host process sharing runsc-py's group.
GROUP_KILLS = r'''
import contextlib, os, signal, sys
signal.signal(signal.SIGUSR1, lambda *a: None)
os.kill(0, signal.SIGUSR1)
# init's group is 1, so killpg(1) is kill(-1): with no other process yet,
# ESRCH, as in any pid namespace
for group_kill in (lambda: os.killpg(os.getpgrp(), signal.SIGUSR1),
                   lambda: os.kill(-1, signal.SIGUSR1)):
    with contextlib.suppress(ProcessLookupError):
        group_kill()
signal.signal(signal.SIGUSR2, signal.SIG_IGN)
os.kill(0, signal.SIGUSR2)
signal.signal(signal.SIGTERM, lambda *a: None)
if os.fork() == 0:           # a child without handlers: kill(0) reaches its whole group
    os.kill(0, signal.SIGTERM)
    os.kill(-1, signal.SIGHUP)
    os._exit(0)
os.wait()
print("survived", flush=True)
'''


def _in_a_shared_group(argv: list[str], tmp_path) -> tuple[subprocess.Popen, int]:
    """Start argv in a new session whose process group also holds a host
    `sleep` (the canary): returns the Popen and the canary's pid."""
    pidfile = tmp_path / "canary.pid"
    script = f'sleep 60 </dev/null >/dev/null 2>&1 & echo $! > {pidfile}.new && mv {pidfile}.new {pidfile}; exec "$@"'
    proc = subprocess.Popen(["sh", "-c", script, "sh", *argv], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not pidfile.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the canary did not start"
        time.sleep(0.01)
    return proc, int(pidfile.read_text())


def _canary_alive(pid: int) -> bool:
    time.sleep(0.2)
    try:
        return _stat_fields(pid)[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_group_kills_never_reach_the_callers_group(platform, tmp_path):
    proc, canary = _in_a_shared_group(RUNSC_PY + ["do", f"--platform={platform}", "--",
                                                  sys.executable, "-c", GROUP_KILLS], tmp_path)
    try:
        out, err = finish(proc)
        assert _canary_alive(canary), "a host process in runsc-py's group was killed"
        assert (proc.returncode, out) == (0, b"survived\n"), (proc.returncode, out, err)
    finally:
        os.kill(canary, 9)


def test_group_kills_from_an_oci_container(bundle, tmp_path):
    bundle.config(["sh", "-c", "trap 'echo usr1' USR1; trap 'echo term' TERM; kill -USR1 0; "
                               "kill -TERM 0; kill -HUP -1; echo done"])
    proc, canary = _in_a_shared_group(RUNSC_PY + ["--root", str(bundle.root), "run", "--bundle",
                                                  str(bundle.path), "c2"], tmp_path)
    try:
        out, err = finish(proc)
        assert _canary_alive(canary), "a host process in runsc-py's group was killed"
        assert out.split() == [b"usr1", b"term", b"done"], (out, err)
    finally:
        os.kill(canary, 9)


# A workload that raises its core limit (the sandbox's own, which it sees
# raised) and crashes: the host writes no core anywhere, and a host file named
# `core` in the caller's cwd is untouched.
CRASH = ("import os, resource\n"
         "resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
         "print(resource.getrlimit(resource.RLIMIT_CORE), flush=True)\n"
         "pid = os.fork()\n"
         "if pid == 0:\n"
         "    os.abort()\n"   # a child: init's own fatal signals are the sentry's to apply
         "_, status = os.waitpid(pid, 0)\n"
         "os._exit(128 + os.WTERMSIG(status))\n")


def test_a_crash_writes_no_core_on_the_host(platform, tmp_path):
    canary = tmp_path / "core"
    canary.write_bytes(b"host file")
    before = set(os.listdir("/"))
    r = subprocess.run(RUNSC_PY + ["do", f"--platform={platform}", "--", sys.executable, "-c",
                                   CRASH], cwd=tmp_path, capture_output=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.returncode == 128 + 6, r
    assert r.stdout == b"(-1, -1)\n", r     # the sandbox sees the limit it set
    assert canary.read_bytes() == b"host file"
    assert sorted(os.listdir(tmp_path)) == ["core"]
    assert not {n for n in set(os.listdir("/")) - before if n.startswith("core")}


CORE_PATTERN = "/proc/sys/kernel/core_pattern"


@contextlib.contextmanager
def core_helper(tmp_path):
    """A core_pattern that pipes to a helper, as systemd-coredump and apport
    set it, restored after: such a pattern ignores a core limit of 0, and
    the host would hand the workload's memory to a helper running as host
    root. Yields the file the helper would write, had it ever run."""
    helper, dumped = tmp_path / "helper", tmp_path / "dumped"
    helper.write_text(f"#!/bin/sh\ncat > {dumped}\n")
    helper.chmod(0o755)
    with open(CORE_PATTERN) as f:
        saved = f.read()
    try:
        with open(CORE_PATTERN, "w") as f:
            f.write(f"|{helper} %p")
        yield dumped
        time.sleep(0.5)   # a helper, had one started, would be writing by now
    finally:
        with open(CORE_PATTERN, "w") as f:
            f.write(saved)


def test_a_crash_reaches_no_core_helper(platform, tmp_path):
    with core_helper(tmp_path) as dumped:
        r = subprocess.run(RUNSC_PY + ["do", f"--platform={platform}", "--", sys.executable, "-c",
                                       CRASH], capture_output=True, timeout=60)
    assert r.returncode == 128 + 6, r
    assert not dumped.exists()


def test_an_oci_crash_writes_no_core(bundle, tmp_path):
    (bundle.path / "rootfs" / "core").write_bytes(b"rootfs file")
    # the crash in a child (`; echo` keeps sh from exec'ing it as init)
    bundle.config(["sh", "-c", "ulimit -c unlimited; ulimit -c; sh -c 'kill -SEGV $$'; echo status $?"])
    with core_helper(tmp_path) as dumped:
        r = bundle.cli("run", "--bundle", str(bundle.path), "c3", stdin=subprocess.DEVNULL)
    assert "unlimited" in r.stdout and "status 139" in r.stdout, r.stdout
    assert not dumped.exists()
    assert (bundle.path / "rootfs" / "core").read_bytes() == b"rootfs file"
    assert not [n for n in os.listdir(bundle.path) if n.startswith("core")]


# Host scheduling and memory are not the workload's to raise, whatever its
# sandbox identity: each attempt fails as it does for an unprivileged caller.
SCHEDULING = r'''
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def attempt(name, fn):
    try:
        fn()
        print(name, "ok", flush=True)
    except OSError as e:
        print(name, e.errno, flush=True)
def rc(value):
    if value < 0:
        raise OSError(ctypes.get_errno(), "")
attempt("fifo", lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(99)))
attempt("rr", lambda: os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1)))
attempt("nice", lambda: os.setpriority(os.PRIO_PROCESS, 0, -20))
attempt("ioprio", lambda: rc(libc.syscall(251, 1, 0, (1 << 13) | 0)))   # IOPRIO_CLASS_RT
import resource
resource.setrlimit(resource.RLIMIT_MEMLOCK, (64 << 10, 64 << 10))   # the sandbox's own limit
big = mmap.mmap(-1, 256 << 20)
attempt("mlock", lambda: rc(libc.mlock(ctypes.c_void_p.from_buffer(big), 256 << 20)))
attempt("mlockall", lambda: rc(libc.mlockall(3)))
# clone3 with set_tid: a host pid of the workload's choosing
args = (ctypes.c_uint64 * 11)(0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0)
tids = (ctypes.c_int32 * 2)(31337, 31337)
args[8], args[9] = ctypes.addressof(tids), 2
def clone3():
    pid = libc.syscall(435, ctypes.byref(args), 88)
    if pid == 0:
        os._exit(0)
    rc(pid)
    os.waitpid(pid, 0)
attempt("set_tid", clone3)
print("ready", flush=True)
sys.stdin.read()
'''


def test_host_scheduling_and_memory_stay_the_hosts(platform):
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", "--", sys.executable, "-c",
                                        SCHEDULING], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    # finish() closes stdin, which ends the workload
    try:
        lines = []
        while not lines or lines[-1] != "ready":
            line = proc.stdout.readline().decode().strip()
            assert line, lines
            lines.append(line)
        results = dict(line.split(" ", 1) for line in lines[:-1])
        assert not [k for k, v in results.items() if v == "ok"], results
        tids = hostview.wait_for_workload(proc.pid, 1)
        for tid in tids:
            fields = _stat_fields(tid)
            priority, nice, policy = int(fields[15]), int(fields[16]), int(fields[38])
            assert (policy, nice) == (0, 0) and priority == 20, (tid, priority, nice, policy)
            assert hostview.status(tid)["VmLck"].split()[0] == "0", tid
            ioprio = ctypes.CDLL(None, use_errno=True).syscall(252, 1, tid)   # ioprio_get
            assert ioprio >> 13 != 1, (tid, ioprio)                          # not IOPRIO_CLASS_RT
        assert not os.path.exists("/proc/31337") or 31337 not in tids
    finally:
        finish(proc)


def test_host_scheduling_from_an_oci_container(bundle):
    """The container's root (uid 0, the default capabilities) may not raise
    host scheduling either: busybox's renice and ionice answer as Linux does
    an unprivileged caller."""
    rootfs_bin = bundle.path / "rootfs" / "bin"
    for applet in ("renice", "ionice"):
        os.symlink("busybox", rootfs_bin / applet)
    bundle.config(["sh", "-c", "renice -n -20 -p $$ >/dev/null 2>&1; echo renice $?; "
                               "ionice -c 1 -n 0 -p $$ >/dev/null 2>&1; echo ionice $?"])
    r = bundle.cli("run", "--bundle", str(bundle.path), "c4", stdin=subprocess.DEVNULL)
    assert "renice 1" in r.stdout and "ionice 1" in r.stdout, r.stdout
