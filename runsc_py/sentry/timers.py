"""Timers the workload holds as fds: host timerfds made by the sentry.

The sentry makes the object and installs it at the guest fd; arming,
reading and polling it then run natively (timerfd_settime/gettime, read).
Interval timers, POSIX timers and sleeps need no sentry at all: they name
only the calling process, and the host runs them.
"""
from __future__ import annotations

import errno

from runsc_py import hostcalls

TFD_CLOEXEC, TFD_NONBLOCK = 0o2000000, 0o4000
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME = 0, 1, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM = 8, 9
TIMERFD_CLOCKS = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
                  CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM}


def host_timerfd(clockid: int, flags: int) -> int:
    if clockid not in TIMERFD_CLOCKS or flags & ~(TFD_CLOEXEC | TFD_NONBLOCK):
        raise OSError(errno.EINVAL, "timerfd_create")
    return hostcalls.timerfd_create(clockid, flags | TFD_CLOEXEC)
