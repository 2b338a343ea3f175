"""/proc/sys: the sysctls programs read, as the sandbox's kernel has them.

Three sources, in order of precedence:
- `kernel.sysctl`, the configuration's values ("kernel.pid_max" -> "4096"),
  which also add files this table does not have; except the host and
  domain names, which sethostname changes while the sandbox runs: those
  always show kernel.hostname and kernel.domainname (the configuration's
  values for them are applied there when the sandbox starts);
- values the sentry owns: the host name, the release uname reports, the
  sandbox's boot id, the number of its open files;
- harmless host figures passed through (limits of the host kernel that the
  sandbox lives under anyway: fs.nr_open, vm.max_map_count, ...).

What the sentry owns and Linux lets root change is writable (mode 0644):
the host and domain names and the configuration's values. A write is read
back after the fact (sentry/writeback.py) and taken as proc_dostring takes
it: up to the first newline or NUL, at most the value's length; a kernel.x
name keeps the text written. Everything else is 0444: the host's figures
are the host's, and the sandbox must not seem to change them. Who may write
is decided by sysctl's own rule (test_perm): the effective uid 0 has the
owner's bits, an effective or supplementary gid 0 the group's, anyone else
the others'; no capability overrides them.
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
UTS_LEN = 65            # the hostname's and domainname's maxlen (struct new_utsname's fields)
CONFIGURED_LEN = 4096   # a configured value's: one page, what a sysctl write takes at most
# the sentry's values that no one may write on Linux either
READ_ONLY = frozenset({
    "kernel.osrelease", "kernel.version", "kernel.ostype", "kernel.ngroups_max",
    "kernel.random.boot_id", "kernel.random.uuid", "kernel.random.entropy_avail",
    "kernel.random.poolsize", "fs.file-nr",
})

# harmless host figures, by sysctl name
HOST_SYSCTLS = (
    "kernel.pid_max", "kernel.threads-max", "kernel.cap_last_cap", "kernel.overflowuid",
    "kernel.overflowgid", "kernel.randomize_va_space", "kernel.shmmax", "kernel.shmall",
    "kernel.shmmni", "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "fs.file-max", "fs.nr_open", "fs.pipe-max-size", "fs.overflowuid", "fs.overflowgid",
    "fs.inotify.max_user_watches", "fs.inotify.max_user_instances",
    "fs.inotify.max_queued_events", "fs.mqueue.msg_max", "fs.mqueue.queues_max",
    "vm.overcommit_memory", "vm.max_map_count", "vm.mmap_min_addr", "kernel.keys.maxkeys",
    "kernel.keys.maxbytes", "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
    "net.core.somaxconn",
    "net.ipv4.tcp_congestion_control", "net.ipv4.tcp_available_congestion_control",
    "net.ipv4.tcp_allowed_congestion_control",
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


class Sysctl:
    """One value: how to render it, and how to take a write (None: read-only)."""

    __slots__ = ("render", "write")

    def __init__(self, render: Callable[[], str], write: Callable[[bytes], None] | None = None):
        self.render = render
        self.write = write


def sys_tree(kernel) -> Dir:
    """/proc/sys as a tree of directories keyed by the sysctl names' parts."""
    values: dict[str, Sysctl] = {name: Sysctl(_host(name)) for name in HOST_SYSCTLS}
    values.update({name: Sysctl(render) for name, render in sentry_sysctls(kernel).items()})
    values["kernel.hostname"].write = _taking(UTS_LEN, lambda v: setattr(kernel, "hostname", v))
    values["kernel.domainname"].write = _taking(UTS_LEN, lambda v: setattr(kernel, "domainname", v))

    def configured(name: str, value: str) -> Sysctl:
        if name in READ_ONLY:
            return Sysctl(lambda: value)
        return Sysctl(lambda: value, _taking(CONFIGURED_LEN,
                                             lambda v: kernel.sysctl.__setitem__(name, v)))

    def current() -> dict[str, Sysctl]:
        merged = dict(values)
        for name, value in dict(kernel.sysctl).items():
            if name not in LIVE:
                merged[name] = configured(name, str(value))
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
                out[head] = _file(value)
            elif head not in out:
                out[head] = _subtree(current, prefix + (head,))
        return out

    return Dir(children)


def _file(value: Sysctl) -> File:
    mode = 0o444 if value.write is None else 0o644
    return File(lambda: (value.render() + "\n").encode(), mode=mode, write=value.write,
                permission=lambda creds, want: sysctl_permitted(mode, creds, want))


def sysctl_permitted(mode: int, creds, want: int) -> bool:
    """fs/proc/proc_sysctl.c's test_perm(): by the effective ids, never by capabilities."""
    if creds.euid == 0:
        mode >>= 6
    elif creds.egid == 0 or 0 in creds.groups:
        mode >>= 3
    return want & ~mode & 7 == 0


def _taking(maxlen: int, store: Callable[[str], None]) -> Callable[[bytes], None]:
    """A write as proc_dostring takes it (sysctl_writes_strict): the text up to the
    first newline or NUL, at most maxlen - 1 bytes. The whole file is the text
    written from its start, so a shorter text written over a longer one without
    a newline keeps the longer one's tail (Linux cuts it at the write's end)."""
    def write(content: bytes) -> None:
        text = content[: maxlen - 1].split(b"\n", 1)[0].split(b"\0", 1)[0]
        store(text.decode("utf-8", "replace"))
    return write


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
