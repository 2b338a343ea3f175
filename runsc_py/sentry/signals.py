"""Signals the sentry decides for itself.

The workload's first process is pid 1 of a host pid namespace, and Linux
protects a namespace's init: a signal it has no handler for is dropped, even
SIGKILL from inside, and a fault's SIGSEGV would re-fault forever. runc's
containers inherit that; gVisor's sandbox does not (`runsc do sh -c 'kill
-9 $$'` exits 137). The sentry follows gVisor: for the sandbox's init it
applies a signal's default action itself and records the status the
workload would have died with.
"""
from __future__ import annotations

import signal
import struct

from runsc_py import hostcalls

# Default action "terminate" or "core" (signal(7)); realtime signals terminate too.
FATAL_BY_DEFAULT = frozenset(
    {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGILL, signal.SIGTRAP,
     signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGKILL, signal.SIGUSR1,
     signal.SIGSEGV, signal.SIGUSR2, signal.SIGPIPE, signal.SIGALRM, signal.SIGTERM,
     16, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGVTALRM, signal.SIGPROF, signal.SIGIO,
     signal.SIGPWR, signal.SIGSYS}
    | set(range(signal.SIGRTMIN, signal.SIGRTMAX + 1)))
STOP_BY_DEFAULT = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})


NR_RT_SIGTIMEDWAIT = 128


def disposition(host_tid: int, sig: int, read_memory=None) -> str:
    """"handled", "ignored", "blocked" or "default", from the host's view of the thread.

    A thread waiting in rt_sigtimedwait (sigwaitinfo, sigwait) has the
    signals it waits for unblocked while it waits (Linux's real_blocked):
    those count as blocked, they are the wait's to take. `read_memory(tid,
    addr, size)` reads the wait's set; without it the wait is not looked at.
    """
    if sig in (signal.SIGKILL, signal.SIGSTOP):
        return "default"
    masks = {}
    with open(f"/proc/{host_tid}/status", "rb") as f:
        for line in f:
            if line.startswith((b"SigCgt:", b"SigIgn:", b"SigBlk:")):
                masks[line[:6]] = int(line.split()[1], 16)
    bit = 1 << (sig - 1)
    if masks.get(b"SigBlk", 0) & bit:
        return "blocked"  # it stays pending; the sentry decides again at its delivery
    if masks.get(b"SigCgt", 0) & bit:
        return "handled"
    if masks.get(b"SigIgn", 0) & bit:
        return "ignored"
    if read_memory is not None and _sigtimedwait_set(host_tid, read_memory) & bit:
        return "blocked"
    return "default"


def _sigtimedwait_set(host_tid: int, read_memory) -> int:
    """The set a thread blocked in rt_sigtimedwait waits for, else 0."""
    try:
        with open(f"/proc/{host_tid}/syscall", "rb") as f:
            fields = f.read().split()
        if not fields or fields[0] != b"%d" % NR_RT_SIGTIMEDWAIT:
            return 0
        return int.from_bytes(read_memory(host_tid, int(fields[1], 16), 8), "little")
    except Exception:  # noqa: BLE001 - gone, or a set it cannot read: no wait
        return 0


def default_is_fatal(host_tid: int, sig: int, read_memory=None) -> bool:
    return sig in FATAL_BY_DEFAULT and disposition(host_tid, sig, read_memory) == "default"


def default_is_stop(host_tid: int, sig: int, read_memory=None) -> bool:
    return sig in STOP_BY_DEFAULT and disposition(host_tid, sig, read_memory) == "default"


# -- siginfo: the uids in it are the sandbox's -----------------------------------

SI_USER, SI_TKILL = 0, -6
CLD_EXITED, CLD_CONTINUED = 1, 6
_SIGINFO_IDS = struct.Struct("<iii4xiI")  # si_signo, si_errno, si_code, (pad), si_pid, si_uid


def signo_of(info: bytes) -> int:
    return _SIGINFO_IDS.unpack_from(info)[0]


def sent_from_outside(info: bytes) -> bool:
    """A kill from outside the sandbox's pid namespace (the sentry's): SI_USER, si_pid 0."""
    _signo, _errno, code, pid, _uid = _SIGINFO_IDS.unpack_from(info)
    return code == SI_USER and pid == 0


def as_sent_by(info: bytes, pid: int, uid: int) -> bytes:
    """A siginfo the sentry's own kill produced, made the one the sandbox
    sender's would have been."""
    return info[:16] + struct.pack("<iI", pid, uid) + info[24:]


def with_sandbox_uid(info: bytes, uid_of) -> bytes | None:
    """`info` with the sandbox's uid in si_uid where the host kernel filled it
    in (kill/tkill's sender, SIGCHLD's child), or None when it needs no change.

    The host writes the real uid of the host thread, which is the sandbox's
    host uid whatever uid the sandbox process switched to. si_pid is right
    already: the pid namespace numbers it. A siginfo the sender wrote itself
    (sigqueue's SI_QUEUE, any negative code but SI_TKILL) is left as sent.
    `uid_of(vpid)` gives a sandbox process's real uid (None: unknown).
    """
    signo, _errno, code, pid, uid = _SIGINFO_IDS.unpack_from(info)
    if not (code in (SI_USER, SI_TKILL)
            or (signo == signal.SIGCHLD and CLD_EXITED <= code <= CLD_CONTINUED)):
        return None
    if pid <= 0:
        return None   # from outside the sandbox (the sentry): nothing to translate
    vuid = uid_of(pid)
    if vuid is None or vuid == uid:
        return None
    return info[:16] + struct.pack("<iI", pid, vuid) + info[24:]


# -- signalfd: a host object; reads and polls run natively ---------------------

SFD_CLOEXEC, SFD_NONBLOCK = 0o2000000, 0o4000
_UNBLOCKABLE = (1 << (signal.SIGKILL - 1)) | (1 << (signal.SIGSTOP - 1))


def host_signalfd(fd: int, mask: int, flags: int) -> int:
    """signalfd(2) on the sentry's side: a new signalfd (fd -1) or a new mask for one.

    A signalfd answers for the thread that *reads* it, not the one that made
    it, so an object made here and installed in the workload reads the
    workload's own pending signals. Its mask can never name SIGKILL/SIGSTOP.
    """
    return hostcalls.signalfd(fd, mask & ~_UNBLOCKABLE, flags)
