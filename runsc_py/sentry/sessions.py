"""Process groups and sessions: the host's, as the sandbox's pid namespace numbers them.

`setpgid` and `setsid` run natively (the namespace confines them to the
sandbox, and the host's tty layer does job control with them), so the
pgid and sid a Process records are only those of its birth. Whatever
depends on the groups as they are now (who `kill(0)`/`kill(-pgid)`
reach, SIGCONT's session rule) asks the host here.
"""
from __future__ import annotations

import os
import stat as statmod

from runsc_py.sentry.tasks import Process, Task, TaskTable

NR_IOCTL, TIOCSCTTY = 16, 0x540E
# terminals whose open never makes them controlling (tty_open's noctty):
# /dev/tty (already the caller's), /dev/console, /dev/ptmx (a master), tty0
NEVER_CONTROLLING = {os.makedev(5, 0), os.makedev(5, 1), os.makedev(5, 2), os.makedev(4, 0)}


def _host_id(tasks: TaskTable, proc: Process, which) -> int | None:
    """os.getpgid/os.getsid of a sandbox process, in host numbers (None: gone)."""
    host = tasks.host_pid_of(proc.vpid)
    if host is None:
        return None
    try:
        return which(host)
    except OSError:
        return None


def virtual_pgid(tasks: TaskTable, proc: Process) -> int | None:
    """A process's group as the sandbox numbers it (NSpgid)."""
    host = tasks.host_pid_of(proc.vpid)
    if host is None:
        return None
    try:
        with open(f"/proc/{host}/status", "rb") as f:
            for line in f:
                if line.startswith(b"NSpgid:"):
                    return int(line.split()[-1])
    except OSError:
        pass
    return None


def same_group(tasks: TaskTable, a: Process, b: Process) -> bool:
    group = _host_id(tasks, a, os.getpgid)
    return group is not None and group == _host_id(tasks, b, os.getpgid)


def same_session(tasks: TaskTable, a: Process, b: Process) -> bool:
    sid = _host_id(tasks, a, os.getsid)
    return sid is not None and sid == _host_id(tasks, b, os.getsid)


def signal_targets(tasks: TaskTable, task: Task, pid: int) -> list[Process]:
    """The live sandbox processes kill(pid) reaches for pid <= 0: the caller's
    group (0), group -pid, or every process but init and the caller (-1)."""
    procs = list(tasks.processes.values())
    if pid == -1:
        return [p for p in procs if p is not task.process and p is not tasks.init]
    if pid == 0:
        group = _host_id(tasks, task.process, os.getpgid)
    else:
        leader = tasks.processes.get(-pid)
        group = _host_id(tasks, leader, os.getpgid) if leader is not None else None
        if group is None or group != tasks.host_pid_of(-pid):
            # its leader is gone or has left it: ask each process its group's number
            return [p for p in procs if virtual_pgid(tasks, p) == -pid]
    return [p for p in procs if group is not None and _host_id(tasks, p, os.getpgid) == group]


def controlling_terminal_call(tasks: TaskTable, task: Task, host_fd: int, guest_fd: int,
                              flags: int) -> tuple[int, ...] | None:
    """Linux's tty_open rule: opening a terminal without O_NOCTTY, for reading,
    makes it the controlling terminal of a session leader that has none,
    if no other session has it. The sentry opens devices with O_NOCTTY
    (the terminal must become the caller's, not the sentry's), so the
    caller makes TIOCSCTTY (arg 0) right after the open: the call that
    does exactly that, or None when the rule does not apply. Whether
    another session has the terminal is TIOCSCTTY's to find (EPERM, which
    the open ignores, as Linux's does)."""
    if flags & (os.O_NOCTTY | os.O_PATH) or flags & os.O_ACCMODE == os.O_WRONLY:
        return None
    st = os.fstat(host_fd)
    if not statmod.S_ISCHR(st.st_mode) or st.st_rdev in NEVER_CONTROLLING or not os.isatty(host_fd):
        return None
    host = tasks.host_pid_of(task.process.vpid)
    if host is None or _host_id(tasks, task.process, os.getsid) != host:
        return None   # not a session leader
    try:
        with open(f"/proc/{host}/stat", "rb") as f:
            if int(f.read().rsplit(b")", 1)[1].split()[4]) != 0:
                return None   # it has a controlling terminal already
    except OSError:
        return None
    return (NR_IOCTL, guest_fd, TIOCSCTTY, 0)
