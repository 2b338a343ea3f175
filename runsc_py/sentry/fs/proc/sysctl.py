"""/proc/sys: the sysctls programs read, as the sandbox's kernel has them.

Three sources, in order of precedence:
- `kernel.sysctl`, the configuration's values ("kernel.pid_max" -> "4096"),
  which also add files this table does not have; except the host and
  domain names, which sethostname changes while the sandbox runs: those
  always show kernel.hostname and kernel.domainname;
- values the sentry owns: the host name, the release uname reports, the
  sandbox's boot id, the number of its open files;
- harmless host figures passed through (limits of the host kernel that the
  sandbox lives under anyway: fs.nr_open, vm.max_map_count, ...).
Everything is read-only: the mount is (writes answer EROFS).
"""
from __future__ import annotations

import os
from collections.abc import Callable

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs import hostinfo
from runsc_py.sentry.fs.synthetic import Dir, Entry, File



def random_uuid() -> str:
    """A random (version 4) UUID, as Linux makes for kernel/random/{uuid,boot_id}."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40   # version 4
    b[8] = (b[8] & 0x3F) | 0x80   # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


BOOT_ID = random_uuid()   # one per sandbox (this sentry), never the host's
NGROUPS_MAX = 65536
LIVE = ("kernel.hostname", "kernel.domainname")   # what the sandbox changes as it runs

# harmless host figures, by sysctl name
HOST_SYSCTLS = (
    "kernel.pid_max", "kernel.threads-max", "kernel.cap_last_cap", "kernel.overflowuid",
    "kernel.overflowgid", "kernel.randomize_va_space", "kernel.shmmax", "kernel.shmall",
    "kernel.shmmni", "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "fs.file-max", "fs.nr_open", "fs.pipe-max-size", "fs.overflowuid", "fs.overflowgid",
    "fs.inotify.max_user_watches", "fs.inotify.max_user_instances",
    "fs.inotify.max_queued_events", "fs.mqueue.msg_max", "fs.mqueue.queues_max",
    "vm.overcommit_memory", "vm.max_map_count", "net.core.somaxconn",
)


def sentry_sysctls(kernel) -> dict[str, Callable[[], str]]:
    """The values the sentry owns."""
    from runsc_py.syscalls.misc import SANDBOX_RELEASE, SANDBOX_VERSION

    return {
        "kernel.hostname": lambda: kernel.hostname,
        "kernel.domainname": lambda: kernel.domainname,
        "kernel.osrelease": lambda: SANDBOX_RELEASE.decode(),
        "kernel.version": lambda: SANDBOX_VERSION.decode(),
        "kernel.ostype": lambda: "Linux",
        "kernel.ngroups_max": lambda: str(NGROUPS_MAX),
        "kernel.random.boot_id": lambda: BOOT_ID,
        "kernel.random.uuid": random_uuid,
        "kernel.random.entropy_avail": lambda: "256",   # Linux >= 5.18 always says so
        "kernel.random.poolsize": lambda: "256",
        "kernel.core_pattern": lambda: "core",          # the host's may name its crash handler
        "fs.file-nr": lambda: f"{_open_files(kernel)}\t0\t{_host_value('fs.file-max')}",
    }


def sys_tree(kernel) -> Dir:
    """/proc/sys as a tree of directories keyed by the sysctl names' parts."""
    values: dict[str, Callable[[], str]] = {name: _host(name) for name in HOST_SYSCTLS}
    values.update(sentry_sysctls(kernel))

    def current() -> dict[str, Callable[[], str]]:
        merged = dict(values)
        for name, value in dict(kernel.sysctl).items():
            if name not in LIVE:
                merged[name] = (lambda v=value: str(v))
        return merged

    return _subtree(current, ())


def _subtree(current, prefix: tuple[str, ...]) -> Dir:
    def children() -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for name, value in current().items():
            parts = tuple(name.split("."))
            if parts[: len(prefix)] != prefix or len(parts) == len(prefix):
                continue
            head = parts[len(prefix)]
            if len(parts) == len(prefix) + 1:
                out[head] = File(lambda v=value: (v() + "\n").encode(), mode=0o644)
            elif head not in out:
                out[head] = _subtree(current, prefix + (head,))
        return out

    return Dir(children)


def _host(name: str) -> Callable[[], str]:
    return lambda: _host_value(name)


def _host_value(name: str) -> str:
    try:
        return hostinfo.read("/proc/sys/" + name.replace(".", "/")).decode().rstrip("\n")
    except (SyscallError, OSError):
        return "0"


def _open_files(kernel) -> int:
    tables = {id(p.fds): p.fds for p in list(kernel.tasks.processes.values())}
    return sum(len(t.entries) for t in tables.values())
