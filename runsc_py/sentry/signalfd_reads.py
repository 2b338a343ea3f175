"""The sandbox's uids in what a signalfd read returns.

A signalfd is a host signalfd at the guest fd, and reading it dequeues the
reader's own signals, so only the reader can read it and the read is
native. The host fills each record's `ssi_uid` with the sender's host uid
(every sandbox process runs as the same host user), not the sandbox uid
it switched to. The sentry fixes handlers', `waitid`'s and
`sigtimedwait`'s siginfo at a stop it already has; a native read has none.

So a process that gets a signalfd at guest fd N makes one more call right
after, as part of the same call (`InstallFds.then`): it stacks a seccomp
filter of its own (`policy.reads_traced`), with TSYNC for all its
threads, that traces `read` and `readv` of fd N. At that trace stop the
sentry lets the read run and, at its exit, puts the sandbox's pid and uid
into each record (`Kernel.amend_signalfd_records`), as for `waitid`.

What it costs and where it stops:
- Filters only stack, and a process keeps them across fork and exec, so
  fd N stays traced in that process and its descendants after N is
  closed or reused: a read of N that is not a signalfd is let through at
  its stop (~20 µs more than a native read). A process adds one filter
  per new fd number (`Process.reads_traced`), not per signalfd.
- The filter program is written just below the caller's stack red zone;
  where that memory cannot be written, or TSYNC fails (a thread with a
  filter of its own), the read stays native and shows the host's uid.
- A signalfd received over a unix socket (SCM_RIGHTS) is not traced.
"""
from __future__ import annotations

import struct

from runsc_py._interpose import lib
from runsc_py.platform import NATIVE, AtExit, InstallFds, MemoryFault
from runsc_py.platform.policy import NR_READ, reads_traced

NR_SECCOMP = 317
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
RED_ZONE = 128
RECORD_SIZE = 128   # struct signalfd_siginfo
_SOCK_FPROG = struct.Struct("<H6xQ")


def trace_reads(process, result):
    """`result` (an install of a signalfd), with the follow-up call that
    traces reads of its guest fd, unless this process traces them already."""
    if not isinstance(result, InstallFds) or result.then is not None:
        return result
    fd = result.fds[0].guest_fd
    if fd in process.reads_traced:
        return result
    process.reads_traced.add(fd)
    result.then = _filter_call(fd)
    return result


def _filter_call(fd: int):
    """The follow-up, made once the caller's registers are known: write the
    filter below its stack and call seccomp() on it (None: not possible)."""
    program = reads_traced(fd, lib.RP_TRACE_SIGNALFD_READ)

    def make(platform, tid: int, rsp: int):
        addr = (rsp - RED_ZONE - _SOCK_FPROG.size - len(program)) & ~15
        fprog = _SOCK_FPROG.pack(len(program) // 8, addr + _SOCK_FPROG.size)
        try:
            platform.write(tid, addr, fprog + program)
        except (MemoryFault, OSError):
            return None
        return (NR_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, addr)

    return make


# -- at the trace stop of a read -----------------------------------------

_RECORD_IDS = struct.Struct("<iiiII")   # ssi_signo, ssi_errno, ssi_code, ssi_pid, ssi_uid
_IOVEC = struct.Struct("<QQ")


def traced_read(kernel, task, call):
    """A `read`/`readv` a signalfd's filter traced: native; if the fd is a
    signalfd now, its records get the sandbox's ids at the call's exit."""
    fd = call.args[0] & 0xFFFFFFFF
    entry = task.process.fds.entries.get(fd)
    if entry is None or entry.file.kind != "signalfd":
        return NATIVE
    tid, nr, buf, count = task.host_tid, call.nr, call.args[1], call.args[2]

    def amend(result: int) -> None:
        if result >= RECORD_SIZE:
            amend_records(kernel, tid, _segments(kernel.platform, tid, nr, buf, count, result))

    return AtExit(amend)


def _segments(platform, tid: int, nr: int, buf: int, count: int, length: int):
    """Where the `length` bytes a read (or readv) returned lie in memory."""
    if nr == NR_READ:
        return [(buf, length)]
    segments = []
    try:
        iovecs = platform.read(tid, buf, _IOVEC.size * min(count, 1024))
    except (MemoryFault, OSError):
        return []
    for base, size in _IOVEC.iter_unpack(iovecs):
        if length <= 0:
            break
        segments.append((base, min(size, length)))
        length -= size
    return segments


def amend_records(kernel, tid: int, segments) -> None:
    """Put the sandbox's pid and uid in each signalfd_siginfo the host wrote."""
    platform = kernel.platform
    try:
        data = bytearray(b"".join(platform.read(tid, addr, size) for addr, size in segments))
    except (MemoryFault, OSError):   # unmapped since, or the task was killed
        return
    changed = False
    for offset in range(0, len(data) - RECORD_SIZE + 1, RECORD_SIZE):
        signo, errno_, code, pid, uid = _RECORD_IDS.unpack_from(data, offset)
        info = struct.pack("<iiiiII", signo, errno_, code, 0, pid, uid)   # as a siginfo_t
        fixed = kernel.sandbox_siginfo(tid, info)
        if fixed is not None and fixed[16:24] != info[16:24]:
            data[offset + 12: offset + 20] = fixed[16:24]
            changed = True
    if not changed:
        return
    position = 0
    for addr, size in segments:
        try:
            platform.write(tid, addr, bytes(data[position: position + size]))
        except (MemoryFault, OSError):
            return
        position += size
