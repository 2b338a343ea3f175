"""Files the workload writes natively and the sentry reads back: /proc/sys values.

Linux applies a write to /proc/sys/kernel/hostname in the write itself.
Here read and write never trap, so a writable /proc file is a memfd of
its own, and the sentry takes what was written from it *before every call
it answers* (`settle`, from Kernel.handle_syscall) and when the last guest
fd of it is gone (`release`). Nothing can see a value but a call the sentry
answers (uname, an open of /proc/sys, sethostname...), so the workload
cannot tell that the value changed later than its write.

Each open file description is one `Written`: the sentry keeps a reader of
the memfd the workload got (the same bytes) and the last state it applied,
and calls `apply(content)` when the file's size, times or bytes have
changed since. Held only while a guest fd
of it may exist; the owner of this registry is the Kernel.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable


class Written:
    __slots__ = ("fd", "apply", "seen")

    def __init__(self, fd: int, apply: Callable[[bytes], None]):
        self.fd = fd            # the sentry's read-only open of the workload's file
        self.apply = apply      # takes the file's whole content
        self.seen = _state(fd)  # (size, mtime, ctime, content) last applied


class WriteBacks:
    def __init__(self):
        self.open: dict[int, Written] = {}   # id(token) -> Written; the token is the OpenFile's node
        self._tokens: dict[int, object] = {}

    def watch(self, token: object, host_fd: int, apply: Callable[[bytes], None]) -> None:
        """`host_fd` (the workload's, about to be installed) is written back through `apply`."""
        reader = os.open(f"/proc/self/fd/{host_fd}", os.O_RDONLY | os.O_CLOEXEC)
        self.open[id(token)] = Written(reader, apply)
        self._tokens[id(token)] = token

    def settle(self) -> None:
        """Apply what the workload wrote since the last look."""
        for written in list(self.open.values()):
            state = _state(written.fd)
            if state != written.seen:
                written.seen = state
                written.apply(state[3])

    def release(self, live_nodes: Iterable[object]) -> None:
        """Forget the files no guest fd refers to any more (`live_nodes`: the
        nodes of every open file in every fd table), after a last settle."""
        self.settle()
        live = {id(node) for node in live_nodes if id(node) in self.open}
        for key in [k for k in self.open if k not in live]:
            os.close(self.open.pop(key).fd)
            del self._tokens[key]


READ_AT_MOST = 65536   # a value is shorter; the workload may make the file far longer


def _state(fd: int) -> tuple[int, int, int, bytes]:
    st = os.fstat(fd)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, os.pread(fd, min(st.st_size, READ_AT_MOST), 0)
