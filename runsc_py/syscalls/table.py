"""The syscall table: every x86_64 number, who answers it, and how well.

One row per syscall the sandbox knows about: its policy in the seccomp
filter (platform/policy.py), its handler, a support level and a note. The
filter, `--strace`, `--report` and `runsc-py syscalls` all read this one
table. A number with no row, or a row with no handler, traps and fails
with ENOSYS, and is counted.

Support levels:
    full           emulated by the sentry as Linux does it
    partial        emulated, with the limits the note gives
    native         run by the host kernel (data path, memory, time, signal
                   frames) — safe because every fd and id it can name is
                   the sandbox's own
    denied         refused in the filter with the errno given, no round trip
    unimplemented  traps, returns ENOSYS, and is reported

No check-then-continue (docs/architecture.md, "The syscall table"): a row
that lets the host kernel run the call — a `native` row, a `checked` row
(its handler may return NATIVE), an AT_EXIT row — declares every pointer
argument it has, by its name in python-ptrace's prototype, as one of:

    DATA      bytes the kernel moves between the caller's own memory and the
              object the registers name (buffers, iovecs and their contents,
              results written back, time values, fd and signal sets); they
              name nothing else, and the sentry decides nothing by them
    CONFINED  a value the kernel resolves or applies (a pid, a thread, a
              process group, a scheduling policy, a filter program, an IPC
              object's owner) that the host's confinement already limits to
              the sandbox's own, whatever it holds: the pid, IPC and network
              namespaces, the caller's thread group or session, no host
              capability; the sentry decides nothing by it
    DECIDES   anything else the kernel resolves or acts on: a path, a
              sockaddr, a msghdr's name or control, clone_args, open_how, a
              value a sentry check read. Another thread can change it after
              the sentry looked, so no row the kernel runs may have one: the
              sentry makes such a call itself on its own copy, or refuses it
    NULL      a DECIDES pointer the kernel only ever sees as NULL: the call
              runs natively only when this register is 0 (the filter's
              argument rule, or the handler's test of the register)

A multiplexer (ioctl, fcntl, prctl) declares `request=`: a table from each
request it lets run natively to the class of that request's pointer (None:
the request takes none). Only a row with declarations may answer NATIVE:
Kernel refuses NATIVE from any other handler (EIO, a sentry bug), and
tests/unit/test_pointer_rule.py checks the declarations against the prototypes.
"""
from __future__ import annotations

import errno
from collections.abc import Callable

from runsc_py.platform.policy import Policy
from runsc_py.syscalls import file, fs, ids, ipc, misc, mount, process, signal, socket, time
from runsc_py.syscalls.pointers import CONFINED, DATA, DECIDES, NULL  # noqa: F401 - the vocabulary


class Syscall:
    """One row. A plain slotted class: a dataclass here cost ~1 ms of every
    cold start for ~450 rows (and `dataclasses` itself ~6 ms to import).

    `pointers` is None for a row the kernel never runs (the sentry answers
    it, or the filter denies it); else {argument name: DATA | CONFINED | NULL}
    (or, for "request", {request: class or None}), possibly empty."""

    __slots__ = ("nr", "name", "policy", "support", "handler", "note", "errno", "nargs", "pointers")

    def __init__(self, nr: int, name: str, policy: Policy, support: str,
                 handler: Callable | None = None, note: str = "", errno: int = 0,
                 pointers: dict | None = None):
        self.nr = nr
        self.name = name
        self.policy = policy
        self.support = support
        self.handler = handler
        self.note = note
        self.errno = errno    # for denied calls
        # the arguments the handler takes
        self.nargs = handler.__code__.co_argcount - 1 if handler is not None else 0
        self.pointers = pointers

    @property
    def may_run_natively(self) -> bool:
        return self.pointers is not None

    def __repr__(self) -> str:
        return f"Syscall({self.nr}, {self.name!r}, {self.policy!r}, {self.support!r})"


def emulated(nr: int, handler: Callable, note: str = "", support: str = "full") -> Syscall:
    return Syscall(nr, handler.__name__, Policy.TRAP, support if not note else "partial", handler, note)


def at_exit(nr: int, handler: Callable, note: str, **pointers) -> Syscall:
    """Run by the host, with an exit stop where the handler's AtExit amends the result."""
    return Syscall(nr, handler.__name__, Policy.AT_EXIT, "full", handler, note, pointers=pointers)


def native(nr: int, name: str, note: str = "", **pointers: str) -> Syscall:
    return Syscall(nr, name, Policy.NATIVE, "native", None, note, pointers=pointers)


def checked(nr: int, handler: Callable, note: str, **pointers) -> Syscall:
    """Trapped, checked by the sentry, then run natively (the handler may return NATIVE)."""
    return Syscall(nr, handler.__name__, Policy.TRAP, "full", handler, note, pointers=pointers)


def denied(nr: int, name: str, err: int, note: str) -> Syscall:
    return Syscall(nr, name, Policy.DENY, "denied", None, note, err)


def unimplemented(nr: int, name: str, issue: str) -> Syscall:
    return Syscall(nr, name, Policy.TRAP, "unimplemented", None, issue)


X32_COMPAT_FIRST = 512  # python-ptrace also names x32's compat numbers; they are not ours
DATA_PATH = "data path on a sentry-installed fd"
PID_NS = "ids are the sandbox's pid namespace's (virtual)"
MEMORY = "the workload's own address space"
DUP_NOTE = ("in the table; run by the host when the number it gives is the table's "
            "(a task alone with its fds), else installed by the sentry")
TREE = "the sentry's VFS (sentry/namei.py); EROFS on read-only mounts"
ATTRS = "the sentry's VFS (sentry/attrs.py); EROFS on read-only mounts"
IPC_GET = "the sandbox's own IPC namespace; a new object's creator noted at exit (syscalls/ipc.py)"
IPC_CTL = "the sandbox's own IPC namespace; a STAT's ids made the sandbox's at exit"
INOTIFY = ("events for what the sentry sees (changes, opens, closes, listings) and, through a "
           "host watch on each covered file's host inode, IN_ACCESS/IN_MODIFY of native reads "
           "and writes; none for procfs/sysfs/devfs files")
XATTRS = "tmpfs and the overlay's upper layer keep user.*/trusted.*; elsewhere ENOTSUP"

ROWS = [
    # -- file descriptors (file.py) --
    native(0, "read", DATA_PATH, buf=DATA),
    native(1, "write", DATA_PATH, buf=DATA),
    emulated(2, file.open),
    checked(3, file.close, "the table drops the fd, the host closes it"),
    emulated(4, fs.stat),
    emulated(5, fs.fstat),
    emulated(6, fs.lstat),
    native(7, "poll", DATA_PATH, ufds=DATA),
    native(8, "lseek", DATA_PATH),
    native(9, "mmap", MEMORY + "; file mappings of sentry-installed fds"),
    native(10, "mprotect", MEMORY),
    native(11, "munmap", MEMORY),
    native(12, "brk", MEMORY),
    native(13, "rt_sigaction", "signal frames are host things", act=DATA, oldact=DATA),
    native(14, "rt_sigprocmask", "signal frames are host things", set=DATA, oset=DATA),
    native(15, "rt_sigreturn", "signal frames are host things"),
    checked(16, file.ioctl, "terminal and FIO* requests on host fds; others ENOTTY",
            request={**file.NATIVE_IOCTLS, **file.HOST_NETWORK_IOCTLS,
                     **file.SOCKET_OWNER_IOCTLS}),
    native(17, "pread64", DATA_PATH, buf=DATA),
    native(18, "pwrite64", DATA_PATH, buf=DATA),
    native(19, "readv", DATA_PATH, vec=DATA),
    native(20, "writev", DATA_PATH, vec=DATA),
    emulated(21, fs.access),
    emulated(22, file.pipe),
    native(23, "select", DATA_PATH, readfds=DATA, writefds=DATA, errorfds=DATA, timeout=DATA),
    native(24, "sched_yield"),
    native(25, "mremap", MEMORY),
    native(26, "msync", MEMORY),
    native(27, "mincore", MEMORY, vec=DATA),
    native(28, "madvise", MEMORY),
    at_exit(29, ipc.shmget, IPC_GET),
    native(30, "shmat", "the sandbox's own IPC namespace", shmaddr=DATA),
    at_exit(31, ipc.shmctl, IPC_CTL, buf=CONFINED),
    checked(32, file.dup, DUP_NOTE),
    checked(33, file.dup2, DUP_NOTE),
    native(34, "pause"),
    native(35, "nanosleep", rqtp=DATA, rmtp=DATA),
    native(36, "getitimer", value=DATA),
    native(37, "alarm"),
    native(38, "setitimer", value=DATA, ovalue=DATA),
    emulated(39, process.getpid, support="full"),
    native(40, "sendfile", DATA_PATH, offset=DATA),
    emulated(41, socket.socket, "UNIX/INET/INET6 stream and datagram, NETLINK_ROUTE; raw EPERM"),
    checked(42, socket.connect, "brokered to a sandbox listener, or egress by rule; "
            "native only for --network=host's host sockets", addr=CONFINED),
    emulated(43, socket.accept, "the sentry accepts; a blocking accept is parked"),
    checked(44, socket.sendto, "with no address: native (in the filter); with one: the sentry",
            buf=DATA, dest_addr=NULL),
    checked(45, socket.recvfrom, "with no address: native (in the filter); with one: the sentry",
            buf=DATA, src_addr=DATA, addrlen=DATA),
    emulated(46, socket.sendmsg, "by the sentry from its copy of the msghdr; SCM_RIGHTS noted"),
    emulated(47, socket.recvmsg, "by the sentry: addresses translated, SCM_RIGHTS installed"),
    checked(48, socket.shutdown, "the host socket shuts down itself"),
    checked(49, socket.bind, "the sandbox's port table and unix names; native only for "
            "--network=host's host sockets", addr=CONFINED),
    checked(50, socket.listen, "a host AF_UNIX listener only the sentry can name"),
    checked(51, socket.getsockname, "the sandbox's addresses", addr=DATA, addrlen=DATA),
    checked(52, socket.getpeername, "the sandbox's addresses", addr=DATA, addrlen=DATA),
    emulated(53, socket.socketpair, "AF_UNIX"),
    checked(54, socket.setsockopt, "TCP/IP options kept by the sentry; buffers, timeouts native",
            optval=DATA),
    checked(55, socket.getsockopt, "SO_PEERCRED with virtual ids", optval=DATA, optlen=DATA),
    checked(56, process.clone, "no namespace flags, no CLONE_UNTRACED (EPERM), from registers",
            ptid=DATA, ctid=DATA),
    checked(57, process.fork, "the pids limit (EAGAIN); reported to the sentry by ptrace"),
    checked(58, process.vfork, "the pids limit (EAGAIN); reported to the sentry by ptrace"),
    Syscall(59, "execve", Policy.EXEC, "full", process.execve,
            "resolved by the sentry, run as execveat(fd); #! handled by the sentry"),
    native(60, "exit"),
    native(61, "wait4", PID_NS, stat_addr=DATA, ru=DATA),
    checked(62, signal.kill, PID_NS + "; the sandbox's credentials for one target; init gets default actions"),
    emulated(63, misc.uname, support="full"),
    at_exit(64, ipc.semget, IPC_GET),
    native(65, "semop", "the sandbox's own IPC namespace", sops=DATA),
    at_exit(66, ipc.semctl, IPC_CTL, arg=CONFINED),
    native(67, "shmdt", "the sandbox's own IPC namespace", shmaddr=DATA),
    at_exit(68, ipc.msgget, IPC_GET),
    native(69, "msgsnd", "the sandbox's own IPC namespace", msgp=DATA),
    native(70, "msgrcv", "the sandbox's own IPC namespace", msgp=DATA),
    at_exit(71, ipc.msgctl, IPC_CTL, buf=CONFINED),
    checked(72, file.fcntl, "dup and FD_CLOEXEC in the table; record locks (POSIX, OFD) of "
                            "host-backed files in the sentry's lock table (sentry/locks.py), "
                            "F_SETLEASE refused there (EAGAIN, F_GETLEASE F_UNLCK); flags, owners, "
                            "seals, and locks of the sandbox's own objects (tmpfs, memfd) on the host fd",
            request=file.NATIVE_FCNTLS),
    checked(73, file.flock, "host-backed files: the sentry's lock table (sentry/locks.py), a "
                            "blocking wait parked and interruptible; the sandbox's own objects "
                            "(tmpfs, memfd) native"),
    native(74, "fsync", DATA_PATH),
    native(75, "fdatasync", DATA_PATH),
    emulated(76, fs.truncate, ATTRS),
    native(77, "ftruncate", DATA_PATH + " (the host enforces the fd's access mode)"),
    emulated(78, file.getdents),
    emulated(79, fs.getcwd),
    emulated(80, fs.chdir),
    emulated(81, fs.fchdir),
    emulated(82, fs.rename, TREE),
    emulated(83, fs.mkdir, TREE),
    emulated(84, fs.rmdir, TREE),
    emulated(85, file.creat, TREE),
    emulated(86, fs.link, TREE),
    emulated(87, fs.unlink, TREE),
    emulated(88, fs.symlink, TREE),
    emulated(89, fs.readlink),
    emulated(90, fs.chmod, ATTRS),
    checked(91, fs.fchmod, ATTRS),
    emulated(92, fs.chown, ATTRS),
    checked(93, fs.fchown, ATTRS),
    emulated(94, fs.lchown, ATTRS),
    emulated(95, fs.umask),
    native(96, "gettimeofday", tv=DATA, tz=DATA),
    checked(97, process.getrlimit, "RLIMIT_CORE and RLIMIT_NPROC are the sentry's; the host has the rest",
            rlim=DATA),
    native(98, "getrusage", ru=DATA),
    emulated(99, misc.sysinfo, support="full"),
    native(100, "times", tbuf=DATA),
    denied(101, "ptrace", errno.EPERM, "no ptrace inside the sandbox"),
    emulated(102, process.getuid),
    denied(103, "syslog", errno.EPERM, "the host's kernel log"),
    emulated(104, process.getgid),
    emulated(105, ids.setuid),
    emulated(106, ids.setgid),
    emulated(107, process.geteuid),
    emulated(108, process.getegid),
    native(109, "setpgid", PID_NS),
    emulated(110, process.getppid),
    native(111, "getpgrp", PID_NS),
    native(112, "setsid", PID_NS),
    emulated(113, ids.setreuid),
    emulated(114, ids.setregid),
    emulated(115, process.getgroups),
    emulated(116, ids.setgroups),
    emulated(117, ids.setresuid),
    emulated(118, ids.getresuid),
    emulated(119, ids.setresgid),
    emulated(120, ids.getresgid),
    native(121, "getpgid", PID_NS),
    emulated(122, ids.setfsuid),
    emulated(123, ids.setfsgid),
    native(124, "getsid", PID_NS),
    emulated(125, ids.capget),
    emulated(126, ids.capset),
    native(127, "rt_sigpending", set=DATA),
    Syscall(128, "rt_sigtimedwait", Policy.AT_EXIT, "full", signal.rt_sigtimedwait,
            "native; si_uid made the sandbox's at exit",
            pointers=dict(uthese=DATA, uinfo=DATA, uts=DATA)),
    checked(129, signal.rt_sigqueueinfo, PID_NS + "; as kill", uinfo=CONFINED),
    native(130, "rt_sigsuspend", unewset=DATA),
    native(131, "sigaltstack", uss=DATA, uoss=DATA),
    emulated(132, fs.utime, ATTRS),
    emulated(133, fs.mknod, TREE + "; FIFOs and socket files; device nodes EPERM"),
    denied(134, "uselib", errno.EPERM, "obsolete"),
    native(135, "personality"),
    emulated(137, fs.statfs),
    checked(138, fs.fstatfs, "the sentry's mounts; anonymous host objects native", buf=DATA),
    native(140, "getpriority", PID_NS),
    native(141, "setpriority", PID_NS),
    native(142, "sched_setparam", PID_NS, param=CONFINED),
    native(143, "sched_getparam", PID_NS, param=DATA),
    native(144, "sched_setscheduler", PID_NS, param=CONFINED),
    native(145, "sched_getscheduler", PID_NS),
    native(146, "sched_get_priority_max"),
    native(147, "sched_get_priority_min"),
    native(148, "sched_rr_get_interval", PID_NS, interval=DATA),
    native(149, "mlock", MEMORY),
    native(150, "munlock", MEMORY),
    native(151, "mlockall", MEMORY),
    native(152, "munlockall", MEMORY),
    denied(153, "vhangup", errno.EPERM, "host terminals"),
    denied(155, "pivot_root", errno.EPERM, "mounts are the sentry's (VFS issue)"),
    checked(157, misc.prctl, "names in the sentry; harmless options on the host; others EINVAL",
            request={**misc.NATIVE_PRCTLS, **misc.RECORDED_PRCTLS}),
    native(158, "arch_prctl", "TLS of the calling thread", addr=DATA),
    denied(159, "adjtimex", errno.EPERM, "the host's clock"),
    checked(160, process.setrlimit, "RLIMIT_CORE and RLIMIT_NPROC are the sentry's (the host's "
            "core limit stays 1 byte); RLIMIT_NOFILE is also the fd table's limit", rlim=CONFINED),
    emulated(161, fs.chroot, "the process's root in the sentry's resolver; never the host's"),
    native(162, "sync"),
    denied(163, "acct", errno.EPERM, "host accounting"),
    denied(164, "settimeofday", errno.EPERM, "the host's clock"),
    emulated(165, mount.mount, "the caller's mount namespace in the sentry's VFS: tmpfs, "
             "proc, sysfs, bind, remount, propagation, move; no host filesystem (ENODEV)"),
    emulated(166, mount.umount2),
    denied(167, "swapon", errno.EPERM, "host swap"),
    denied(168, "swapoff", errno.EPERM, "host swap"),
    denied(169, "reboot", errno.EPERM, "the host"),
    emulated(170, misc.sethostname),
    emulated(171, misc.setdomainname),
    denied(172, "iopl", errno.EPERM, "host I/O ports"),
    denied(173, "ioperm", errno.EPERM, "host I/O ports"),
    denied(175, "init_module", errno.EPERM, "host kernel modules"),
    denied(176, "delete_module", errno.EPERM, "host kernel modules"),
    denied(179, "quotactl", errno.EPERM, "host quotas"),
    emulated(186, process.gettid),
    native(187, "readahead", DATA_PATH),
    emulated(188, fs.setxattr, XATTRS),
    emulated(189, fs.lsetxattr, XATTRS),
    emulated(190, fs.fsetxattr, XATTRS),
    emulated(191, fs.getxattr, XATTRS),
    emulated(192, fs.lgetxattr, XATTRS),
    emulated(193, fs.fgetxattr, XATTRS),
    emulated(194, fs.listxattr, XATTRS),
    emulated(195, fs.llistxattr, XATTRS),
    emulated(196, fs.flistxattr, XATTRS),
    emulated(197, fs.removexattr, XATTRS),
    emulated(198, fs.lremovexattr, XATTRS),
    emulated(199, fs.fremovexattr, XATTRS),
    checked(200, signal.tkill, PID_NS + "; the sandbox's credentials; init gets default actions"),
    native(201, "time", tloc=DATA),
    native(202, "futex", MEMORY, uaddr=DATA, utime=DATA, uaddr2=DATA),
    checked(203, process.sched_setaffinity, PID_NS + "; under --cpu-pin the task's choice "
            "replaces the pin (sentry/cpus.py)", user_mask_ptr=DATA),
    checked(204, process.sched_getaffinity, PID_NS + "; under --cpu-pin the CPUs the workload "
            "would have had, not the pin (sentry/cpus.py)", user_mask_ptr=DATA),
    denied(206, "io_setup", errno.ENOSYS, "AIO is not offered"),
    emulated(213, file.epoll_create),
    denied(212, "lookup_dcookie", errno.EPERM, "host profiling"),
    emulated(217, file.getdents64),
    native(218, "set_tid_address", PID_NS, tidptr=DATA),
    native(219, "restart_syscall"),
    native(220, "semtimedop", "the sandbox's own IPC namespace", sops=DATA, timeout=DATA),
    native(221, "fadvise64", DATA_PATH),
    native(222, "timer_create", PID_NS, timer_event_spec=CONFINED, created_timer_id=DATA),
    native(223, "timer_settime", new_setting=DATA, old_setting=DATA),
    native(224, "timer_gettime", setting=DATA),
    native(225, "timer_getoverrun"),
    native(226, "timer_delete"),
    denied(227, "clock_settime", errno.EPERM, "the host's clock"),
    native(228, "clock_gettime", tp=DATA),
    native(229, "clock_getres", tp=DATA),
    native(230, "clock_nanosleep", rqtp=DATA, rmtp=DATA),
    native(231, "exit_group"),
    native(232, "epoll_wait", DATA_PATH, events=DATA),
    native(233, "epoll_ctl", DATA_PATH, event=DATA),
    checked(234, signal.tgkill, PID_NS + "; the sandbox's credentials; init gets default actions"),
    emulated(235, fs.utimes, ATTRS),
    emulated(240, file.mq_open, "by the sentry, in the workload's IPC namespace, with the "
             "sandbox's permissions (sentry/mqueue.py); always close-on-exec"),
    emulated(241, file.mq_unlink, "by the sentry, in the workload's IPC namespace"),
    native(242, "mq_timedsend", "on a queue the sentry opened", msg_ptr=DATA, abs_timeout=DATA),
    native(243, "mq_timedreceive", "on a queue the sentry opened", msg_ptr=DATA, msg_prio=DATA,
           abs_timeout=DATA),
    native(244, "mq_notify", "a signal to the caller's own process (glibc's SIGEV_THREAD, "
           "which needs a netlink socket of the host's, fails)", notification=CONFINED),
    native(245, "mq_getsetattr", mqstat=DATA, omqstat=DATA),
    Syscall(247, "waitid", Policy.AT_EXIT, "full", process.waitid,
            PID_NS + "; si_uid made the sandbox's at exit",
            pointers=dict(infop=DATA, ru=DATA)),
    denied(246, "kexec_load", errno.EPERM, "the host kernel"),
    denied(248, "add_key", errno.EPERM, "host keyrings"),
    denied(249, "request_key", errno.EPERM, "host keyrings"),
    denied(250, "keyctl", errno.EPERM, "host keyrings"),
    native(251, "ioprio_set", PID_NS),
    native(252, "ioprio_get", PID_NS),
    emulated(253, fs.inotify_init, INOTIFY),
    emulated(254, fs.inotify_add_watch, INOTIFY),
    emulated(255, fs.inotify_rm_watch, INOTIFY),
    emulated(257, file.openat),
    emulated(258, fs.mkdirat, TREE),
    emulated(259, fs.mknodat, TREE + "; FIFOs and socket files; device nodes EPERM"),
    emulated(260, fs.fchownat, ATTRS),
    emulated(261, fs.futimesat, ATTRS),
    emulated(262, fs.newfstatat),
    emulated(263, fs.unlinkat, TREE),
    emulated(264, fs.renameat, TREE),
    emulated(265, fs.linkat, TREE),
    emulated(266, fs.symlinkat, TREE),
    emulated(267, fs.readlinkat),
    emulated(268, fs.fchmodat, ATTRS),
    emulated(269, fs.faccessat),
    native(270, "pselect6", DATA_PATH, readfds=DATA, writefds=DATA, exceptfds=DATA, timeout=DATA, sigmask=DATA),
    native(271, "ppoll", DATA_PATH, fds=DATA, tmo_p=DATA, sigmask=DATA),
    checked(272, process.unshare, "CLONE_FILES, CLONE_FS and the rest for one thread; "
            "namespaces EPERM (not supported inside the sandbox)"),
    native(273, "set_robust_list", MEMORY, head=DATA),
    native(274, "get_robust_list", PID_NS, head_ptr=DATA, len_ptr=DATA),
    native(275, "splice", DATA_PATH, off_in=DATA, off_out=DATA),
    native(276, "tee", DATA_PATH),
    native(277, "sync_file_range", DATA_PATH),
    native(278, "vmsplice", DATA_PATH, iov=DATA),
    denied(279, "move_pages", errno.EPERM, "host NUMA"),
    emulated(280, fs.utimensat, ATTRS),
    native(281, "epoll_pwait", DATA_PATH, events=DATA, sigmask=DATA),
    emulated(282, signal.signalfd, "a host signalfd; reads traced for the sandbox's uids"),
    emulated(283, time.timerfd_create, support="full"),
    emulated(284, file.eventfd),
    native(285, "fallocate", DATA_PATH),
    native(286, "timerfd_settime", DATA_PATH, utmr=DATA, otmr=DATA),
    native(287, "timerfd_gettime", DATA_PATH, otmr=DATA),
    emulated(288, socket.accept4, "the sentry accepts; a blocking accept is parked"),
    emulated(289, signal.signalfd4, "a host signalfd; reads traced for the sandbox's uids"),
    emulated(290, file.eventfd2),
    emulated(291, file.epoll_create1),
    checked(292, file.dup3, DUP_NOTE),
    emulated(293, file.pipe2),
    emulated(294, fs.inotify_init1, INOTIFY),
    native(295, "preadv", DATA_PATH, vec=DATA),
    native(296, "pwritev", DATA_PATH, vec=DATA),
    checked(297, signal.rt_tgsigqueueinfo, PID_NS + "; as tgkill", uinfo=CONFINED),
    denied(298, "perf_event_open", errno.EACCES, "host performance counters"),
    emulated(299, socket.recvmmsg, "by the sentry; Linux's waits and timeout (checked after each message)"),
    denied(300, "fanotify_init", errno.EPERM, "host file events"),
    checked(302, process.prlimit64, "RLIMIT_CORE and RLIMIT_NPROC are the sentry's (the host's "
            "core limit stays 1 byte); RLIMIT_NOFILE is also the fd table's limit",
            new_rlim=CONFINED, old_rlim=DATA),
    denied(303, "name_to_handle_at", errno.EOPNOTSUPP, "host file handles"),
    denied(304, "open_by_handle_at", errno.EPERM, "host file handles name host files"),
    denied(305, "clock_adjtime", errno.EPERM, "the host's clock"),
    native(306, "syncfs", DATA_PATH),
    emulated(307, socket.sendmmsg, "by the sentry, message by message; a blocking one waits for room"),
    denied(308, "setns", errno.EPERM, "namespaces inside the sandbox are not supported"),
    native(309, "getcpu", cpu=DATA, node=DATA, cache=DATA),
    denied(310, "process_vm_readv", errno.EPERM, "another process's memory: not offered"),
    denied(311, "process_vm_writev", errno.EPERM, "another process's memory: not offered"),
    denied(312, "kcmp", errno.EPERM, "compares host kernel objects"),
    denied(313, "finit_module", errno.EPERM, "host kernel modules"),
    native(314, "sched_setattr", PID_NS, attr=CONFINED),
    native(315, "sched_getattr", PID_NS, attr=DATA),
    emulated(316, fs.renameat2, TREE),
    checked(317, process.seccomp, "stacked under the sandbox's filter; no listener (EBUSY)",
            uargs=CONFINED),
    native(318, "getrandom", buf=DATA),
    emulated(319, file.memfd_create),
    denied(320, "kexec_file_load", errno.EPERM, "the host kernel"),
    denied(321, "bpf", errno.EPERM, "the host kernel"),
    Syscall(322, "execveat", Policy.EXEC, "full", process.execveat,
            "resolved by the sentry, run as execveat(fd)"),
    denied(323, "userfaultfd", errno.EPERM, "not offered"),
    native(324, "membarrier", MEMORY),
    native(325, "mlock2", MEMORY),
    native(326, "copy_file_range", DATA_PATH, off_in=DATA, off_out=DATA),
    native(327, "preadv2", DATA_PATH, vec=DATA),
    native(328, "pwritev2", DATA_PATH, vec=DATA),
    native(329, "pkey_mprotect", MEMORY),
    native(330, "pkey_alloc", MEMORY),
    native(331, "pkey_free", MEMORY),
    emulated(332, fs.statx, "basic fields"),
    denied(333, "io_pgetevents", errno.ENOSYS, "AIO is not offered"),
    native(334, "rseq", MEMORY, rseq=DATA),
    checked(424, process.pidfd_send_signal, "as kill", info=CONFINED),
    denied(425, "io_uring_setup", errno.ENOSYS, "io_uring would bypass the filter"),
    denied(426, "io_uring_enter", errno.ENOSYS, "io_uring would bypass the filter"),
    denied(427, "io_uring_register", errno.ENOSYS, "io_uring would bypass the filter"),
    denied(428, "open_tree", errno.EPERM, "mounts are the sentry's (VFS issue)"),
    denied(429, "move_mount", errno.EPERM, "mounts are the sentry's (VFS issue)"),
    denied(430, "fsopen", errno.EPERM, "mounts are the sentry's (VFS issue)"),
    denied(431, "fsconfig", errno.EPERM, "mounts are the sentry's (VFS issue)"),
    denied(432, "fsmount", errno.EPERM, "mounts are the sentry's (VFS issue)"),
    denied(433, "fspick", errno.EPERM, "mounts are the sentry's (VFS issue)"),
    emulated(434, process.pidfd_open, support="full"),
    denied(435, "clone3", errno.ENOSYS, "its clone_args are in memory the workload can change after "
           "a check: refused, as Docker's default profile does; libc falls back to clone"),
    checked(436, file.close_range, "the table drops the fds, the host closes them"),
    emulated(437, file.openat2, "RESOLVE_* by the sentry's resolver; RESOLVE_CACHED always resolves"),
    emulated(438, process.pidfd_getfd, support="full"),
    emulated(439, fs.faccessat2),
    denied(442, "mount_setattr", errno.EPERM, "mounts are the sentry's (VFS issue)"),
    denied(447, "memfd_secret", errno.ENOSYS, "not offered"),
    native(449, "futex_waitv", MEMORY, waiters=DATA, timeout=DATA),
]


class SyscallTable:
    def __init__(self, rows: list[Syscall]):
        self.rows = {row.nr: row for row in rows}
        if len(self.rows) != len(rows):
            raise ValueError("two rows for one syscall number")

    def entry(self, nr: int) -> Syscall | None:
        return self.rows.get(nr)

    def policies(self) -> dict[int, tuple[Policy, int]]:
        return {nr: (row.policy, row.errno) for nr, row in self.rows.items()}

    def name(self, nr: int) -> str:
        row = self.rows.get(nr)
        if row is not None:
            return row.name
        return self.load_names().get(nr, f"syscall_{nr}")

    @staticmethod
    def load_names() -> dict[int, str]:
        """python-ptrace's names of every number. Lazy (~30 ms), but loaded
        before the sentry confines itself by whoever will need them (--report,
        --strace): importing it runs a subprocess, which the sentry's filter
        kills (sentry/confinement.py)."""
        from ptrace.syscall.linux.x86_64 import SYSCALL_NAMES

        return SYSCALL_NAMES

    def listing(self) -> list[Syscall]:
        """Every x86_64 syscall, with a row for those this table does not name."""
        from ptrace.syscall.linux.x86_64 import SYSCALL_NAMES

        out = dict(self.rows)
        for nr, name in SYSCALL_NAMES.items():
            if nr not in out and nr < X32_COMPAT_FIRST:
                out[nr] = unimplemented(nr, name, "")
        return [out[nr] for nr in sorted(out)]


TABLE = SyscallTable(ROWS)
