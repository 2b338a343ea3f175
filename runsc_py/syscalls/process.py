"""Syscalls about processes: exec, clone's checks, and the identity calls.

fork/vfork/wait4/waitid/exit run natively: the workload lives in its own
pid namespace, whose ids are the virtual ids the sentry's task table
records (sentry/tasks.py), and ptrace reports every clone/exec/exit to the
sentry. clone and clone3 are checked first, so a workload cannot create
host namespaces or slip out of tracing.
"""
from __future__ import annotations

import errno
import struct

from runsc_py.platform import NATIVE
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.exec import prepare_exec
from runsc_py.syscalls.context import AT_FDCWD, as_int

CLONE_UNTRACED = 0x00800000
CLONE_NEW_ANY = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
                 | 0x20000000 | 0x40000000 | 0x00000080)  # NS CGROUP UTS IPC USER PID NET TIME
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
    base = ctx.process.fs.cwd if as_int(dirfd) == AT_FDCWD else ctx.base_dir(dirfd)
    return prepare_exec(ctx, base, path_s, argv, envp)


def _check_clone_flags(flags: int) -> None:
    if flags & CLONE_NEW_ANY:
        raise SyscallError(errno.EPERM, "namespaces inside the sandbox are not supported")
    if flags & CLONE_UNTRACED:
        raise SyscallError(errno.EPERM, "every sandbox task stays traced")


def clone(ctx, flags, stack, parent_tid, child_tid, tls):
    _check_clone_flags(flags)
    return NATIVE


def clone3(ctx, args, size):
    if size < 64:
        raise SyscallError(errno.EINVAL)
    (flags,) = struct.unpack("<Q", ctx.read(args, 8))
    _check_clone_flags(flags)
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
    """RLIMIT_NOFILE is also the fd table's limit; the host keeps the rest."""
    if resource == 7 and new:  # RLIMIT_NOFILE
        soft, _hard = struct.unpack("<QQ", ctx.read(new, 16))
        target = ctx.process if pid == 0 else ctx.kernel.tasks.processes.get(as_int(pid))
        if target is not None:
            target.fds.limit = min(soft, 1 << 20)
    return NATIVE


def setrlimit(ctx, resource, new):
    return prlimit64(ctx, 0, resource, new, 0)
