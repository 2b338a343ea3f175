"""What the host sees of a running sandbox: its processes' host-side status.

The workload's tasks are the descendants of the runsc-py process that live in
a pid namespace below the host's (NSpid has two ids); the sentry and the
gofer are in the host's.
"""
from __future__ import annotations

import os
import time


def status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(name))
    return out


def descendants(root: int) -> list[int]:
    children, out, todo = _children(), [], [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            out.append(pid)
            todo.append(pid)
    return out


def in_child_pid_ns(pid: int) -> bool:
    try:
        return len(status(pid)["NSpid"].split()) > 1
    except (OSError, KeyError):
        return False


def workload_tasks(root: int) -> list[int]:
    """Host tids of every thread of every workload process under `root`."""
    tids = []
    for pid in descendants(root):
        if in_child_pid_ns(pid):
            try:
                tids += [int(t) for t in os.listdir(f"/proc/{pid}/task")]
            except OSError:
                continue
    return tids


def wait_for_workload(root: int, count: int, timeout: float = 20) -> list[int]:
    """Wait until `count` workload tasks run under `root` (a busy machine is slow)."""
    deadline = time.monotonic() + timeout
    while True:
        tids = workload_tasks(root)
        if len(tids) >= count or time.monotonic() > deadline:
            return tids
        time.sleep(0.05)


def sandbox_side(root: int) -> list[int]:
    """The runsc-py processes themselves (sentry, gofer): in the host's pid namespace."""
    return [root] + [p for p in descendants(root) if not in_child_pid_ns(p)]
