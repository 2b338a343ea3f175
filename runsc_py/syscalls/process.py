"""Syscalls about processes: exec, clone's checks, pidfds, seccomp, the id getters.

The clone family and wait4/waitid/exit run natively: the workload lives in
its own pid namespace, whose ids are the virtual ids the sentry's task
table records (sentry/tasks.py), and ptrace reports every clone/exec/exit
to the sentry. clone, fork and vfork are checked first, so a
workload cannot create host namespaces, slip out of tracing, or pass the
sandbox's pids limit (EAGAIN). clone3 is refused (ENOSYS) in the filter:
its flags are in memory another thread could change after the check. The set*id calls are in ids.py.
"""
from __future__ import annotations

import errno
import os
import struct

from runsc_py.platform import NATIVE
from runsc_py.sentry import cpus, limits
from runsc_py.sentry.credentials import CAP_SYS_ADMIN
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.exec import prepare_exec
from runsc_py.sentry.fdtable import OpenFile
from runsc_py.syscalls.context import as_int
from runsc_py.syscalls.file import install_new
from runsc_py.syscalls.signal import _amend_siginfo_at_exit, kill

CLONE_UNTRACED = 0x00800000
CLONE_PIDFD = 0x00001000
PIDFD_THREAD = os.O_EXCL
SECCOMP_SET_MODE_FILTER, SECCOMP_GET_ACTION_AVAIL = 1, 2
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE = 0x7FC00000, 0x7FF00000
# KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, LOG, ALLOW (not TRACE or USER_NOTIF: the sentry's)
SECCOMP_ACTIONS_OFFERED = {0x80000000, 0, 0x00030000, 0x00050000, 0x7FFC0000, 0x7FFF0000}
CLONE_NEW_ANY = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
                 | 0x20000000 | 0x40000000 | 0x00000080)  # NS CGROUP UTS IPC USER PID NET TIME
CLONE_NEWUTS = 0x04000000
CLONE_NEWNS = 0x00020000
SENTRY_NAMESPACES = CLONE_NEWUTS | CLONE_NEWNS   # the namespaces the sentry makes
AT_EMPTY_PATH = 0x1000
AT_SYMLINK_NOFOLLOW = 0x100


def execve(ctx, path, argv, envp):
    return prepare_exec(ctx, ctx.process.fs.cwd, ctx.path(path), argv, envp)


def execveat(ctx, dirfd, path, argv, envp, flags):
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise SyscallError(errno.EINVAL)
    path_s = ctx.path(path)
    if path_s == "" and flags & AT_EMPTY_PATH:
        file = ctx.fds.file(as_int(dirfd))
        if file.mount is None:
            raise SyscallError(errno.EACCES)
        return prepare_exec(ctx, "/", file.path, argv, envp)
    base = ctx.base_dir(dirfd, path_s)
    return prepare_exec(ctx, base, path_s, argv, envp)


CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_THREAD, CLONE_SYSVSEM = 0x10000, 0x40000
UNSHARE_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM \
    | CLONE_NEW_ANY


def unshare(ctx, flags):
    """unshare(2) (kernel/fork.c's ksys_unshare). The fd table and the fs
    context (cwd, root, umask) become the caller's own, in the sentry's
    tables and then natively; CLONE_THREAD, CLONE_SIGHAND and CLONE_VM only
    for a process of one thread (else EINVAL); the undo list of System V
    semaphores (CLONE_SYSVSEM) has nothing to share here. A new UTS or
    mount namespace (for a caller with CAP_SYS_ADMIN) is the sentry's:
    names and mount tables only, never the host's; any other new namespace
    is EPERM."""
    flags = as_int(flags) & 0xFFFFFFFF
    if flags & ~UNSHARE_FLAGS:
        raise SyscallError(errno.EINVAL)
    if flags & CLONE_NEW_ANY & ~SENTRY_NAMESPACES:
        raise SyscallError(errno.EPERM, "namespaces inside the sandbox are not supported "
                                        "(but UTS and mount)")
    if flags & CLONE_NEWNS:
        flags |= CLONE_FS   # a new mount namespace needs its own root and cwd
    proc = ctx.process
    alone = len(proc.threads) == 1
    if flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM) and not alone:
        raise SyscallError(errno.EINVAL)
    if flags & SENTRY_NAMESPACES:
        _unshare_namespaces(ctx, flags)
    if not flags & (CLONE_FS | CLONE_FILES):
        return 0
    if not alone:   # the sentry keeps fds and fs per process, Linux per thread
        raise SyscallError(errno.EINVAL, "unshare(CLONE_FS|CLONE_FILES) of one thread of several")
    others = [p for p in ctx.kernel.tasks.processes.values() if p is not proc]
    if flags & CLONE_FILES and any(p.fds is proc.fds for p in others):
        proc.fds = proc.fds.fork()   # the same descriptions, numbers of its own (no locks: Linux's
                                     # POSIX locks stay with the table they were taken through)
    if flags & CLONE_FS and any(p.fs is proc.fs for p in others):
        proc.fs = proc.fs.copy()
    ctx.kernel.republish(proc)   # the C fast path names the table, root and namespace anew
    if flags & SENTRY_NAMESPACES:
        return 0   # the host must not see them: its fs context is unused (every path is the sentry's)
    return NATIVE   # the host's tables split the same way (flags are a register)


def _unshare_namespaces(ctx, flags: int) -> None:
    """The caller's new UTS and mount namespaces, copies of its own."""
    proc = ctx.process
    if not proc.creds.capable(CAP_SYS_ADMIN):
        raise SyscallError(errno.EPERM)
    if flags & CLONE_FILES:   # the host's unshare of that would see the namespace flags
        raise SyscallError(errno.EPERM, "a new namespace with CLONE_FILES")
    if flags & CLONE_FS and len(proc.threads) > 1:
        raise SyscallError(errno.EINVAL, "a new namespace for one thread of several")
    if flags & CLONE_NEWUTS:
        proc.uts = ctx.kernel.uts_now().copy()   # the sentry's namespace: names only
    if flags & CLONE_NEWNS:
        vfs = ctx.kernel.vfs
        proc.mntns = vfs.unshare(proc.mntns or vfs.initial)
        vfs.use(proc.mntns)


def waitid(ctx, idtype, upid, infop, options, rusage):
    """Native (the pid namespace numbers the ids); the child's uid in the
    siginfo it writes is made the sandbox's at the call's exit."""
    return _amend_siginfo_at_exit(ctx, infop, lambda result: result == 0)


def _check_clone_flags(ctx, flags: int, pidfd_addr: int = 0) -> None:
    if flags & CLONE_NEW_ANY:
        raise SyscallError(errno.EPERM, "namespaces inside the sandbox are not supported")
    if flags & CLONE_UNTRACED:
        raise SyscallError(errno.EPERM, "every sandbox task stays traced")
    ctx.kernel.admit_clone(ctx.task, pidfd_addr if flags & CLONE_PIDFD else 0)


def clone(ctx, flags, stack, parent_tid, child_tid, tls):
    _check_clone_flags(ctx, flags, parent_tid)  # CLONE_PIDFD writes the fd at parent_tid
    return NATIVE


def fork(ctx):
    ctx.kernel.admit_clone(ctx.task, 0)
    return NATIVE


def vfork(ctx):
    ctx.kernel.admit_clone(ctx.task, 0)
    return NATIVE


# -- pidfds: host pidfds of sandbox processes, installed by the sentry -----------

def pidfd_open(ctx, pid, flags):
    pid, flags = as_int(pid), as_int(flags)
    if pid <= 0 or flags & ~(os.O_NONBLOCK | PIDFD_THREAD):
        raise SyscallError(errno.EINVAL)
    host = ctx.kernel.host_tid_of(pid, thread=bool(flags & PIDFD_THREAD))
    host_fd = os.pidfd_open(host, flags)
    return install_new(ctx, OpenFile("pidfd", path="anon_inode:[pidfd]"), host_fd, True)


def pidfd_send_signal(ctx, pidfd, sig, info, flags):
    """As kill. A /proc/<pid> directory fd also names a process here, as on Linux;
    the host would not take the sentry's procfs fd, so the sentry sends that signal."""
    if flags:
        raise SyscallError(errno.EINVAL)
    vpid = _proc_dir_pid(ctx.fds.file(as_int(pidfd)))
    if vpid is None:
        return kill(ctx, _pidfd_target(ctx, as_int(pidfd)).vpid, sig)
    if info:
        raise SyscallError(errno.EINVAL, "siginfo through a /proc/<pid> fd is not offered")
    host = ctx.kernel.host_tid_of(vpid)
    if kill(ctx, vpid, sig) is NATIVE and as_int(sig):
        os.kill(host, as_int(sig))
    return 0


def _proc_dir_pid(file) -> int | None:
    """The pid a procfs /proc/<pid> directory names, else None."""
    if file.kind != "dir" or getattr(file.mount, "fs", None) is None \
            or getattr(file.mount.fs, "fstype", "") != "proc":
        return None
    name = file.path.rstrip("/").rsplit("/", 1)[-1]
    return int(name) if name.isdigit() else None


def pidfd_getfd(ctx, pidfd, targetfd, flags):
    """Copy another process's fd through the sentry's tables (ptrace-style permission)."""
    if flags:
        raise SyscallError(errno.EINVAL)
    target = _pidfd_target(ctx, as_int(pidfd))
    if not ctx.process.creds.may_inspect(target.creds):
        raise SyscallError(errno.EPERM)
    targetfd = as_int(targetfd)
    entry = target.fds.get(targetfd)
    task = next(iter(target.threads.values()), None)
    if task is None:
        raise SyscallError(errno.ESRCH)
    host_fd = ctx.kernel.borrow_fd(task, targetfd)
    return install_new(ctx, entry.file, host_fd, True)


def _pidfd_target(ctx, fd: int):
    """The sandbox process a guest pidfd names (from the host object's fdinfo)."""
    if ctx.fds.file(fd).kind != "pidfd":
        raise SyscallError(errno.EBADF)
    host_fd = ctx.kernel.borrow_fd(ctx.task, fd)
    try:
        host_pid = _fdinfo_pid(host_fd)
    finally:
        os.close(host_fd)
    task = ctx.kernel.tasks.by_host_tid.get(host_pid)
    if task is None:
        raise SyscallError(errno.ESRCH)
    return task.process


def _fdinfo_pid(fd: int) -> int:
    with open(f"/proc/self/fdinfo/{fd}", "rb") as f:
        for line in f:
            if line.startswith(b"Pid:"):
                return int(line.split()[1])
    raise SyscallError(errno.EBADF)


# -- seccomp(2): the workload may add filters under the sandbox's own -------------

def seccomp(ctx, op, flags, args):
    """Filters only restrict, so the host stacks the workload's under ours.

    A listener is refused (EBUSY, as Linux does when a filter below already
    has one): notifications are the sentry's channel. A filter returning
    SECCOMP_RET_TRACE or USER_NOTIF reaches no tracer or listener of the
    workload's, and the call fails with ENOSYS as on Linux without one.

    The decision reads registers only: the filter program is the kernel's
    to read (CONFINED in the table: whatever it holds, it only restricts the
    caller, and a forged trace stop is refused, tests/security/test_forged_trace.py).
    SECCOMP_GET_ACTION_AVAIL is answered here: the kernel would re-read the
    action after the sentry looked.
    """
    op, flags = as_int(op), as_int(flags)
    if op == SECCOMP_SET_MODE_FILTER and flags & SECCOMP_FILTER_FLAG_NEW_LISTENER:
        raise SyscallError(errno.EBUSY)
    if op == SECCOMP_GET_ACTION_AVAIL:
        if flags:
            raise SyscallError(errno.EINVAL)
        (action,) = struct.unpack("<I", ctx.read(args, 4))
        if action not in SECCOMP_ACTIONS_OFFERED:
            raise SyscallError(errno.EOPNOTSUPP)
        return 0
    return NATIVE


# -- identities: the C fast path answers these unless --strace is on -------------

def getpid(ctx):
    return ctx.process.vpid


def getppid(ctx):
    return ctx.process.vppid


def gettid(ctx):
    return ctx.task.vtid


def getuid(ctx):
    return ctx.process.creds.uid


def geteuid(ctx):
    return ctx.process.creds.euid


def getgid(ctx):
    return ctx.process.creds.gid


def getegid(ctx):
    return ctx.process.creds.egid


def getgroups(ctx, size, buf):
    groups = ctx.process.creds.groups
    size = as_int(size)
    if size < 0:
        raise SyscallError(errno.EINVAL)
    if size:
        if size < len(groups):
            raise SyscallError(errno.EINVAL)
        ctx.write(buf, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


def prlimit64(ctx, pid, resource, new, old):
    """RLIMIT_CORE and RLIMIT_NPROC are the sentry's (sentry/limits.py).
    RLIMIT_NOFILE is also the fd table's limit, set from the copy the sentry
    read; the host keeps the rest, natively: their values only bind the
    sandbox's own processes, within hard limits the workload (an
    unprivileged host user) cannot raise. The sentry cannot set them
    itself: without CAP_SYS_RESOURCE it may not prlimit another user."""
    resource = as_int(resource)
    if resource in limits.SANDBOX_RLIMITS:
        return _sandbox_prlimit(ctx, _rlimit_target(ctx, as_int(pid)), resource, new, old)
    if resource == limits.RLIMIT_NOFILE and new:
        soft, _hard = struct.unpack("<QQ", ctx.read(new, 16))
        target = ctx.process if pid == 0 else ctx.kernel.tasks.processes.get(as_int(pid))
        if target is not None:
            target.fds.limit = min(soft, 1 << 20)
    return NATIVE


def sched_getaffinity(ctx, pid, length, mask):
    """A pinned sandbox (sentry/cpus.py) shows a task the CPUs it would have
    had, unless it chose its own (then the host's answer is its own), after
    Linux's checks: a length (unsigned) below nr_cpu_ids bits or not whole
    longs is EINVAL, an unknown pid ESRCH. Returns the bytes written."""
    kernel = ctx.kernel
    if kernel.cpus_shown is None:
        return NATIVE
    length = as_int(length) & 0xFFFFFFFF
    if length * 8 < kernel.nr_cpu_ids or length % 8:
        raise SyscallError(errno.EINVAL)
    if _affinity_target(ctx, pid).own_cpus:
        return NATIVE
    shown = cpus.mask_bytes(kernel.cpus_shown, kernel.cpu_mask_size)[:length]
    ctx.write(mask, shown)
    return len(shown)


def sched_setaffinity(ctx, pid, length, mask):
    """Run by the host, which checks the mask against the CPUs the task may
    use (its cpuset, not the pin): a task named here leaves the sandbox's
    pin, and from then on the host answers its sched_getaffinity. The mask
    is not read: nothing here depends on it (one the host refuses leaves the
    task on the pin, which its sched_getaffinity then shows)."""
    if ctx.kernel.cpus_shown is not None:
        _affinity_target(ctx, pid).own_cpus = True
    return NATIVE


def _affinity_target(ctx, pid):
    pid = as_int(pid)
    task = ctx.task if pid == 0 else ctx.kernel.tasks.by_vtid(pid) if pid > 0 else None
    if task is None:
        raise SyscallError(errno.ESRCH)
    return task


def setrlimit(ctx, resource, new):
    return prlimit64(ctx, 0, resource, new, 0)


def getrlimit(ctx, resource, old):
    resource = as_int(resource)
    if resource in limits.SANDBOX_RLIMITS:
        return _sandbox_prlimit(ctx, ctx.process, resource, 0, old)
    return NATIVE


def _rlimit_target(ctx, pid: int):
    """prlimit's target: the caller, or a process it may change (check_prlimit_permission)."""
    if pid == 0:
        return ctx.process
    target = ctx.kernel.tasks.processes.get(pid)
    if target is None:
        raise SyscallError(errno.ESRCH)
    mine, theirs = ctx.process.creds, target.creds
    same = {mine.uid} == {theirs.uid, theirs.euid, theirs.suid} and \
        {mine.gid} == {theirs.gid, theirs.egid, theirs.sgid}
    if target is not ctx.process and not same and not mine.capable(limits.CAP_SYS_RESOURCE):
        raise SyscallError(errno.EPERM)
    return target


def _sandbox_prlimit(ctx, target, resource: int, new: int, old: int) -> int:
    if new:
        soft, hard = struct.unpack("<QQ", ctx.read(new, 16))
    previous = target.rlimits[resource]
    if new:
        limits.set_rlimit(target.rlimits, resource, soft, hard,
                          ctx.process.creds.capable(limits.CAP_SYS_RESOURCE))
    if old:
        ctx.write(old, struct.pack("<QQ", *previous))
    return 0
