"""Sending signals, and signalfd.

kill/tkill/tgkill are checked by the sentry, then run natively: the pid
namespace confines kill(-1) and every pid to the sandbox
(docs/architecture.md). The sentry applies the permission rule with the
sandbox's credentials, and where the sandbox's init is the target it
applies the default action itself, since the kernel would drop a signal
init has no handler for (sentry/signals.py).
"""
from __future__ import annotations

import errno
import os
import struct

from runsc_py.platform import NATIVE, AtExit
from runsc_py.sentry import sessions, signalfd_reads, signals
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import OpenFile
from runsc_py.syscalls.context import as_int
from runsc_py.syscalls.file import install_new

SIGCONT = 18
CAP_KILL = 5


def kill(ctx, pid, sig):
    pid, sig = as_int(pid), as_int(sig)
    if not 0 <= sig <= 64:
        raise SyscallError(errno.EINVAL)
    if pid > 0:
        tasks = ctx.kernel.tasks
        _check_permission(ctx, tasks.processes.get(pid) or tasks.zombies.get(pid), sig)
    elif not ctx.process.creds.capable(CAP_KILL):
        # a group or -1: Linux signals only the members the caller may signal
        targets = sessions.signal_targets(ctx.kernel.tasks, ctx.task, pid)
        permitted = [p for p in targets if _permitted(ctx, p, sig)]
        if len(permitted) < len(targets):
            if not permitted and pid != -1:  # kill(-1) says 0 even then, as Linux does
                raise SyscallError(errno.EPERM)
            return _signal_each(ctx, permitted, sig)
    init = ctx.kernel.tasks.init
    # kill(-1) never reaches init; kill(-pgid) and kill(0) reach its group.
    # Groups change natively (setpgid, setsid): ask the host for the live ones.
    tasks = ctx.kernel.tasks
    if pid == init.vpid:
        hits_init = True
    elif pid == 0:
        hits_init = sessions.same_group(tasks, ctx.process, init)
    elif pid < -1:
        hits_init = sessions.virtual_pgid(tasks, init) == -pid
    else:
        hits_init = False
    return _to_init(ctx, sig) if hits_init else NATIVE


def _check_permission(ctx, target, sig: int) -> None:
    """kill(2)'s permission rule, with the sandbox's own credentials (not the host's)."""
    if target is None:  # gone (reaped): the host answers ESRCH
        return
    if not _permitted(ctx, target, sig):
        raise SyscallError(errno.EPERM)


def _permitted(ctx, target, sig: int) -> bool:
    if sig == SIGCONT and sessions.same_session(ctx.kernel.tasks, ctx.process, target):
        return True
    return ctx.process.creds.may_signal(target.creds)


def _signal_each(ctx, targets, sig: int) -> int:
    """Some members of a group may not be signalled by the caller: the host would
    signal them all, so the sentry signals the others one by one (the siginfo
    a handler sees is made the caller's at delivery, Kernel.sent_on_behalf)."""
    kernel = ctx.kernel
    for target in targets:
        if sig == 0:
            break
        if target is kernel.tasks.init and kernel.apply_default_to_init(sig):
            continue
        host = kernel.tasks.host_pid_of(target.vpid)
        if host is None:
            continue
        kernel.sent_on_behalf(target, sig, ctx.process)
        try:
            os.kill(host, sig)
        except ProcessLookupError:  # it exited meanwhile
            pass
    return 0


def _thread_process(ctx, tid: int):
    for task in ctx.kernel.tasks.by_host_tid.values():
        if task.vtid == tid:
            return task.process
    return None


def tkill(ctx, tid, sig):
    if as_int(tid) > 0 and 0 <= as_int(sig) <= 64:
        _check_permission(ctx, _thread_process(ctx, as_int(tid)), as_int(sig))
    return _to_init(ctx, as_int(sig)) if as_int(tid) == ctx.kernel.tasks.init.vpid else NATIVE


def tgkill(ctx, tgid, tid, sig):
    if as_int(tid) > 0 and 0 <= as_int(sig) <= 64:
        _check_permission(ctx, _thread_process(ctx, as_int(tid)), as_int(sig))
    init = ctx.kernel.tasks.init.vpid
    return _to_init(ctx, as_int(sig)) if as_int(tgid) == init and as_int(tid) == init else NATIVE


def _to_init(ctx, sig: int):
    if not 0 <= sig <= 64:
        raise SyscallError(errno.EINVAL)
    if sig != 0 and ctx.kernel.apply_default_to_init(sig):
        return 0
    return NATIVE


def signalfd(ctx, fd, mask, sizemask):
    return signalfd4(ctx, fd, mask, sizemask, 0)


def signalfd4(ctx, fd, mask, sizemask, flags):
    """A host signalfd at the guest fd; reading it (natively) reads the reader's
    signals, and the sandbox's ids are put in them (sentry/signalfd_reads.py)."""
    fd = as_int(fd)
    if sizemask != 8 or flags & ~(signals.SFD_CLOEXEC | signals.SFD_NONBLOCK):
        raise SyscallError(errno.EINVAL)
    (sigmask,) = struct.unpack("<Q", ctx.read(mask, 8))
    if fd != -1:
        if ctx.fds.file(fd).kind != "signalfd":
            raise SyscallError(errno.EINVAL)
        host_fd = ctx.kernel.borrow_fd(ctx.task, fd)
        try:
            signals.host_signalfd(host_fd, sigmask, 0)
        finally:
            os.close(host_fd)
        return fd
    host_fd = signals.host_signalfd(-1, sigmask, flags | signals.SFD_CLOEXEC)
    return signalfd_reads.trace_reads(ctx.process, install_new(
        ctx, OpenFile("signalfd", path="anon_inode:[signalfd]"), host_fd,
        bool(flags & signals.SFD_CLOEXEC)))


def rt_sigqueueinfo(ctx, tgid, sig, info):
    """As kill for one process; the host checks that a foreign si_code is negative."""
    return kill(ctx, tgid, sig) if as_int(tgid) > 0 else NATIVE


def rt_tgsigqueueinfo(ctx, tgid, tid, sig, info):
    return tgkill(ctx, tgid, tid, sig)


def rt_sigtimedwait(ctx, sigset, info, timeout, sigsetsize):
    """Native; the siginfo it wrote gets the sandbox's uid (see waitid)."""
    return _amend_siginfo_at_exit(ctx, info, lambda result: result > 0)


def _amend_siginfo_at_exit(ctx, info_addr: int, succeeded):
    """Let the host run the call, then put the sandbox's uid in the siginfo_t
    it wrote at `info_addr` (the host wrote the host thread's uid)."""
    if not info_addr:
        return NATIVE
    kernel, tid = ctx.kernel, ctx.task.host_tid

    def amend(result: int) -> None:
        if succeeded(result):
            kernel.amend_siginfo_in_memory(tid, info_addr)

    return AtExit(amend)
