"""Process groups and sessions: the host's, as the sandbox's pid namespace numbers them.

`setpgid` and `setsid` run natively (the namespace confines them to the
sandbox, and the host's tty layer does job control with them), so the
pgid and sid a Process records are only those of its birth. Whatever
depends on the groups as they are now (who `kill(0)`/`kill(-pgid)`
reach, SIGCONT's session rule) asks the host here.
"""
from __future__ import annotations

import os

from runsc_py.sentry.tasks import Process, Task, TaskTable


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
