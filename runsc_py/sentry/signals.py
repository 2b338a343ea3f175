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

import ctypes
import functools
import os
import signal

# Default action "terminate" or "core" (signal(7)); realtime signals terminate too.
FATAL_BY_DEFAULT = frozenset(
    {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGILL, signal.SIGTRAP,
     signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGKILL, signal.SIGUSR1,
     signal.SIGSEGV, signal.SIGUSR2, signal.SIGPIPE, signal.SIGALRM, signal.SIGTERM,
     16, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGVTALRM, signal.SIGPROF, signal.SIGIO,
     signal.SIGPWR, signal.SIGSYS}
    | set(range(signal.SIGRTMIN, signal.SIGRTMAX + 1)))
STOP_BY_DEFAULT = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})


def disposition(host_tid: int, sig: int) -> str:
    """"handled", "ignored", "blocked" or "default", from the host's view of the thread."""
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
    return "default"


def default_is_fatal(host_tid: int, sig: int) -> bool:
    return sig in FATAL_BY_DEFAULT and disposition(host_tid, sig) == "default"


def default_is_stop(host_tid: int, sig: int) -> bool:
    return sig in STOP_BY_DEFAULT and disposition(host_tid, sig) == "default"


# -- signalfd: a host object; reads and polls run natively ---------------------

SFD_CLOEXEC, SFD_NONBLOCK = 0o2000000, 0o4000
_UNBLOCKABLE = (1 << (signal.SIGKILL - 1)) | (1 << (signal.SIGSTOP - 1))


def host_signalfd(fd: int, mask: int, flags: int) -> int:
    """signalfd(2) on the sentry's side: a new signalfd (fd -1) or a new mask for one.

    A signalfd answers for the thread that *reads* it, not the one that made
    it, so an object made here and installed in the workload reads the
    workload's own pending signals. Its mask can never name SIGKILL/SIGSTOP.
    """
    mask_buf = ctypes.c_uint64(mask & ~_UNBLOCKABLE)
    rc = _libc().signalfd(fd, ctypes.byref(mask_buf), flags)
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


@functools.lru_cache(maxsize=1)
def _libc():
    return ctypes.CDLL(None, use_errno=True)
