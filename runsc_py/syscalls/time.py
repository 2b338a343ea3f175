"""Syscalls about time that need the sentry: timerfd_create.

Everything else about time (clock_gettime, nanosleep, setitimer, alarm,
timer_create) names only the caller and runs natively.
"""
from __future__ import annotations

import errno

from runsc_py.sentry import timers
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import OpenFile
from runsc_py.syscalls.context import as_int
from runsc_py.syscalls.file import install_new

CAP_WAKE_ALARM = 35


def timerfd_create(ctx, clockid, flags):
    """A host timerfd at the guest fd: settime, gettime and read then run natively."""
    clockid, flags = as_int(clockid), as_int(flags)
    if clockid in (timers.CLOCK_REALTIME_ALARM, timers.CLOCK_BOOTTIME_ALARM) \
            and not ctx.process.creds.capable(CAP_WAKE_ALARM):
        raise SyscallError(errno.EPERM)
    host_fd = timers.host_timerfd(clockid, flags)
    return install_new(ctx, OpenFile("timerfd", path="anon_inode:[timerfd]"), host_fd,
                       bool(flags & timers.TFD_CLOEXEC))
