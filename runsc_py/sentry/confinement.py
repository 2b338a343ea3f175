"""The sentry's own confinement: a Landlock domain entered early in boot
(fence_off_host_processes), then, once it has booted, an empty root, its
capabilities and its seccomp filter (confine).

After the workload is started and everything the sentry must open at
start-up is open, the sentry loads a seccomp allow-list on itself
(`confine`): any call not in `SENTRY_SYSCALLS` kills the sentry
(SECCOMP_RET_KILL_PROCESS), and `PTRACE_O_EXITKILL` then kills every
workload process, so a compromised sentry dies rather than reach the host
through a call it never needed. The list was measured: the filter's
default action set to SECCOMP_RET_LOG (`RUNSC_PY_SENTRY_FILTER=log`) while
the test suite ran in `do` and OCI mode on both platforms, the kernel's
type=1326 records read back, then the suite run under the kill action
(docs/architecture.md, "The sentry's confinement"). A few entries were
added from reading the code, for paths the suite may not reach (the
vectored and positioned reads and writes, dup2, tkill,
pidfd_send_signal, clock_nanosleep, sched_getaffinity).

Arguments are not checked: what the calls may name is limited by the
other layers (the capabilities the sentry keeps, its namespaces).
"""
from __future__ import annotations

import os
import sys

# One list, by what needs it. Numbers are x86_64's.
SENTRY_SYSCALLS = {
    # Python itself: memory, signals, futexes, time, randomness.
    9: "mmap", 10: "mprotect", 11: "munmap", 12: "brk", 25: "mremap", 28: "madvise",
    13: "rt_sigaction", 14: "rt_sigprocmask", 15: "rt_sigreturn", 131: "sigaltstack",
    202: "futex", 228: "clock_gettime", 318: "getrandom", 39: "getpid", 186: "gettid",
    60: "exit", 231: "exit_group", 273: "set_robust_list", 334: "rseq",
    219: "restart_syscall",   # a sleep resumed after a stop (pause, SIGSTOP)
    # Files and fds the sentry already holds: the data of memfds, pipes,
    # sockets and host files the gofer donated.
    0: "read", 1: "write", 3: "close", 5: "fstat", 8: "lseek", 17: "pread64",
    18: "pwrite64", 19: "readv", 20: "writev", 32: "dup", 33: "dup2", 292: "dup3",
    72: "fcntl", 16: "ioctl", 77: "ftruncate", 217: "getdents64", 262: "newfstatat",
    332: "statx", 138: "fstatfs", 319: "memfd_create",
    # Sockets: the gofer's, the control socket, the sandbox's brokered sockets.
    44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg",
    # The loop: the listener, SIGCHLD, parked calls (csrc/waiting.c).
    7: "poll", 232: "epoll_wait", 233: "epoll_ctl", 291: "epoll_create1", 270: "pselect6",
    290: "eventfd2", 293: "pipe2", 435: "clone3", 56: "clone",
    # Host sockets: sandbox sockets are made in the workload's network namespace.
    308: "setns", 41: "socket", 53: "socketpair", 42: "connect", 49: "bind", 50: "listen",
    288: "accept4", 51: "getsockname", 52: "getpeername", 54: "setsockopt", 55: "getsockopt",
    48: "shutdown",
    # Opening by name: /proc of its tasks, late imports, reopening through
    # /proc/self/fd; a file's capability xattr for exec.
    257: "openat", 89: "readlink", 193: "fgetxattr",
    # Its tmpfs store (a detached mount it holds by fd): FIFOs and socket
    # files, the modes and times of its files, copy-ups.
    259: "mknodat", 263: "unlinkat", 280: "utimensat", 91: "fchmod", 40: "sendfile",
    # Objects it makes for the workload: signalfds, timerfds, its host
    # inotify instance (sentry/inotify_host.py).
    289: "signalfd4", 283: "timerfd_create", 294: "inotify_init1", 254: "inotify_add_watch",
    255: "inotify_rm_watch",
    # POSIX message queues, in the workload's IPC namespace (setns above;
    # sentry/mqueue.py).
    240: "mq_open", 241: "mq_unlink",
    # Parked calls a signal may interrupt: the sentry's periodic check
    # (sentry/interrupts.py, a timerfd it arms).
    286: "timerfd_settime",
    # The owner of an anonymous object the workload chowns by "" (a pipe, a
    # memfd): the sentry does it on its own fd (sentry/attrs.py).
    93: "fchown",
    # Sessions and process groups of its tasks (sentry/sessions.py).
    121: "getpgid", 124: "getsid",
    # Answers: uname, limits, the host's cpus; sleeping.
    63: "uname", 302: "prlimit64", 204: "sched_getaffinity", 230: "clock_nanosleep",
    # The CPU it runs on, which each gofer request names (csrc/interpose.c);
    # glibc's sched_getcpu reads rseq or the vDSO, this is its fallback.
    309: "getcpu",
    # Tracing and serving the workload.
    101: "ptrace", 61: "wait4", 247: "waitid", 62: "kill", 200: "tkill", 234: "tgkill",
    310: "process_vm_readv", 311: "process_vm_writev", 434: "pidfd_open", 438: "pidfd_getfd",
    424: "pidfd_send_signal",
}

# The capabilities the sentry keeps (CAP_* numbers); every other one leaves
# its effective, permitted, inheritable, ambient and bounding sets.
CAP_DAC_READ_SEARCH, CAP_KILL, CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_PTRACE, CAP_SYS_ADMIN = \
    2, 5, 12, 13, 19, 21
SENTRY_CAPABILITIES = (
    CAP_DAC_READ_SEARCH,  # /proc/PID/syscall (0400) and /proc/PID/fd/ (0500) of workload
                          # tasks, which belong to the workload's host user, not root
    CAP_SYS_PTRACE,  # ptrace, process_vm_readv/writev, pidfd_getfd and /proc/PID/{ns,syscall,fd}
                     # of workload tasks whose ids are not the sentry's
    CAP_SYS_ADMIN,   # setns: host sockets in the workload's network namespace, an exec's
                     # pid namespace
    CAP_KILL,        # signals to workload tasks whose ids are not the sentry's
    CAP_NET_ADMIN,   # `lo` up in the workload's namespace, at the first refused connect
                     # (sentry/net/hostsock.py); it could go if that were done at boot
)
# and, only in a network namespace that is the container's own and for a
# spec whose bounding set has it: CAP_NET_RAW, to make raw sockets there
# for workload callers that hold it (sandbox.Sandbox._raw_sockets)

# Landlock's signal scope (ABI 6) and the ABI that brought it.
LANDLOCK_SCOPE_SIGNAL, LANDLOCK_SCOPES_ABI = 2, 6

# The sentry's filter's default action.
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_LOG = 0x7FFC0000


TEST_HOOK = "RUNSC_PY_DEBUG_SENTRY_SYSCALL"
PROBE_HOOK = "RUNSC_PY_DEBUG_SENTRY_PROBE"


def fence_off_host_processes() -> bool:
    """Enter a Landlock domain after forking the gofer, before the spawner
    and the workload.

    The sentry keeps CAP_SYS_PTRACE and CAP_KILL, which reach every host
    process: a compromised sentry could read /proc/<host pid>/root (the
    host's writable tree), write a host process's memory or signal it. In a
    Landlock domain, ptrace's access check (ptrace, process_vm_*,
    /proc/PID/{root,mem,ns,fd}, pidfd_getfd) passes only for tasks of the
    same domain or one nested in it, and the signal scope does the same for
    kill: so only what this process forks from now on (spawner, workload,
    their children) stays in reach, whatever capabilities it holds. The
    gofer is forked before, out of reach: its root is a host tree in the
    host's mount namespace (sandbox/gofer.py). The domain handles no file
    right, so the boot's mounts, and the workload's, still work. False if
    this kernel has no signal scope."""
    from runsc_py import hostcalls

    if hostcalls.landlock_abi() < LANDLOCK_SCOPES_ABI:
        sys.stderr.write("runsc-py: this kernel's Landlock has no signal scope (ABI 6): "
                         "the sentry's ptrace and kill are fenced by its capabilities only\n")
        return False
    hostcalls.landlock_restrict_scopes(LANDLOCK_SCOPE_SIGNAL)
    return True


def confine(platform=None, debug: bool = False, extra: tuple[int, ...] = (),
            gofer_socket=None, workload_pid: int = 0) -> None:
    """Leave the host's tree, drop the capabilities the sentry does not need
    (but `extra`), then load its allow-list on every thread of this process.
    `workload_pid`: the sandbox's init, whose pid namespace the root of the
    sentry's mount namespace shows in /proc. (`gofer_socket`: for the probe
    hook only.)"""
    from runsc_py import hostcalls
    from runsc_py.platform.policy import SECCOMP_FILTER_FLAG_TSYNC, allow_list, load_self

    # out of the host's tree (CAP_SYS_ADMIN still held): the files it opened
    # and its log directories (bugs.use_log, Log.hold) keep their access
    from runsc_py.sentry.fs.hostinfo import SYS_CPU

    import time

    time.localtime()   # glibc reads /etc/localtime once, at the first use: before it is gone
    allowed = allow_list(SENTRY_SYSCALLS, default_action=_filter_action())   # (kept: filter_cache)
    outer_proc = _sandbox_procfs(workload_pid, debug) if workload_pid else -1
    try:
        hostcalls.leave_host_tree(extra=(SYS_CPU,), outer_proc=outer_proc)
    finally:
        if outer_proc >= 0:
            os.close(outer_proc)
    hostcalls.keep_capabilities(SENTRY_CAPABILITIES + tuple(extra))
    # A module imported later (Python imports lazily, and so does the
    # sentry) is read, never cached: writing its .pyc would mkdir and rename
    # in the package's directory, calls the list does not have.
    sys.dont_write_bytecode = True

    if debug and platform is not None:
        _arm_test_hooks(platform, gofer_socket)
    load_self(allowed, flags=SECCOMP_FILTER_FLAG_TSYNC)


def _filter_action() -> int:
    """What a call outside the list meets: the sentry is killed."""
    if os.environ.get("RUNSC_PY_SENTRY_FILTER") != "log":
        return SECCOMP_RET_KILL_PROCESS
    # Measuring the list: every other call runs, and the kernel logs it
    # (type=1326, syscall=NR, pid=this process's, appended to the file
    # RUNSC_PY_SENTRY_FILTER_PIDS names, to tell sentries from the rest).
    pids = os.environ.get("RUNSC_PY_SENTRY_FILTER_PIDS")
    if pids:
        with open(pids, "a") as f:
            f.write(f"{os.getpid()}\n")
    return SECCOMP_RET_LOG


def _sandbox_procfs(workload_pid: int, debug: bool = False) -> int:
    """A procfs of the sandbox's pid namespace, for /proc at the root of the
    sentry's mount namespace: an engine that joins that namespace through
    the pid `state` reports (`podman top`: psgo lists /proc there) sees the
    container's processes, as under runc, not the host's (hostcalls.c,
    rp_empty_root). The sentry itself is chrooted beneath it, with a /proc
    of its own."""
    from runsc_py import hostcalls

    ns = os.open(f"/proc/{workload_pid}/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        return hostcalls.procfs_of(ns)
    except OSError as exc:   # a kernel before 6.18 has no "pidns" option for procfs
        if debug:   # (not on every run's stderr, the workload's in `do`)
            sys.stderr.write(f"runsc-py: no procfs of the sandbox's pid namespace "
                             f"({exc.strerror}): a process that joins the sentry's mount "
                             "namespace sees its own /proc\n")
        return -1
    finally:
        os.close(ns)


def _arm_test_hooks(platform, gofer_socket) -> None:
    """The test hooks (only with --debug), run half a second into serving:
    RUNSC_PY_DEBUG_SENTRY_SYSCALL=NR makes the sentry call NR with zero
    arguments, so a test can see a call outside the list kill it, and the
    workload with it; RUNSC_PY_DEBUG_SENTRY_PROBE=PID makes it try, as a
    compromised sentry would, to reach host process PID (its root, memory
    and namespaces through /proc, a signal, ptrace) or, with PID:DIR, to
    write in host directory DIR through its own processes' roots, the fds
    it holds and the root the gofer gives it, and say on stderr what each
    try gave (tests/security/test_sentry_confinement.py). Everything
    they need is made now, before the filter: an itimer whose SIGALRM is
    read from a signalfd the loop watches, and libc's functions."""
    import ctypes
    import signal

    from runsc_py import hostcalls

    nr, probed = os.environ.get(TEST_HOOK), os.environ.get(PROBE_HOOK)
    if not (nr or probed):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    fd = hostcalls.signalfd(-1, 1 << (signal.SIGALRM - 1), os.O_NONBLOCK | os.O_CLOEXEC)

    def call(_events: int) -> None:
        os.read(fd, 128)
        if probed:
            _probe(libc, probed, gofer_socket)
        if nr:
            sys.stderr.write(f"runsc-py: test hook: the sentry calls system call {nr}\n")
            libc.syscall(ctypes.c_long(int(nr)), 0, 0, 0, 0, 0, 0)

    platform.watch(fd, call)
    signal.setitimer(signal.ITIMER_REAL, 0.5)


def _probe(libc, target: str, gofer_socket) -> None:
    """Each way a compromised sentry would reach host process PID, tried;
    then, for a target "PID:DIR", a file made in host directory DIR through
    the root of each process the sentry forked (`/proc/CHILD/root`: the
    sandbox's init, the spawner, and the gofer if it could reach it), by
    climbing from each directory it holds, and from the sandbox's root as
    the gofer hands it over."""
    import ctypes
    import errno
    from functools import partial

    pid_text, _, directory = target.partition(":")
    pid = int(pid_text)

    def ptrace_seize() -> None:
        if libc.ptrace(ctypes.c_long(0x4206), pid, None, None) < 0:   # PTRACE_SEIZE
            raise OSError(ctypes.get_errno(), "ptrace")

    tries = {
        "root": lambda: os.listdir(f"/proc/{pid}/root"),
        "mem": lambda: os.close(os.open(f"/proc/{pid}/mem", os.O_RDONLY)),
        "ns": lambda: os.close(os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)),
        "kill": lambda: os.kill(pid, 0),
        "ptrace": ptrace_seize,
    }
    if directory:
        def create(path: str, dir_fd=None) -> None:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600,
                             dir_fd=dir_fd))

        for child in _children():
            tries[f"write via {child}"] = partial(create, f"/proc/{child}/root{directory}/via-{child}")
        climb = "../" * 64 + directory.lstrip("/")
        for fd in _directory_fds():
            tries[f"write via fd {fd}"] = partial(create, f"{climb}/via-fd-{fd}", dir_fd=fd)
        if gofer_socket is not None:
            from runsc_py.gofer.client import GoferClient

            root = GoferClient(gofer_socket).lookup("", os.O_RDONLY | os.O_DIRECTORY)[3]
            tries["write via gofer root"] = partial(create, f"{climb}/via-gofer", dir_fd=root)
    for name, attempt in tries.items():
        try:
            attempt()
            outcome = "ok"
        except OSError as exc:
            outcome = errno.errorcode.get(exc.errno, str(exc.errno))
        sys.stderr.write(f"runsc-py: test hook: probe {name}: {outcome}\n")


def _directory_fds() -> list[int]:
    """The directories the sentry holds open (gofer donations, its log's)."""
    import contextlib
    import stat

    fds = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):   # the listing's own fd is closed by now
            if stat.S_ISDIR(os.stat(int(name)).st_mode):
                fds.append(int(name))
    return fds


def _children() -> list[int]:
    pids: list[int] = []
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    return pids
