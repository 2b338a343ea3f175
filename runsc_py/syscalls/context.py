"""What a syscall handler sees of the call it answers.

A handler gets a SyscallContext (the calling task, the kernel, and safe
access to the caller's memory) and the raw argument registers. It returns
a value or one of runsc_py.platform's results, or raises SyscallError.
Handlers never touch the platform directly.
"""
from __future__ import annotations

import errno
import os

from runsc_py.platform import MemoryFault, TrappedCall
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.vfs import PATH_MAX

AT_FDCWD = -100


class Abandoned(Exception):
    """The caller vanished while we read its memory: there is no one to answer."""


class SyscallContext:
    __slots__ = ("kernel", "task", "call", "_scratch")

    def __init__(self, kernel, task, call: TrappedCall):
        self.kernel = kernel
        self.task = task
        self.call = call
        self._scratch = 0

    @property
    def process(self):
        return self.task.process

    @property
    def fds(self):
        return self.task.process.fds

    def change_creds(self, change):
        """change(creds) on the calling thread's credentials, which are its
        own (Linux keeps them per thread: sentry/tasks.py); the C fast path
        answers getuid & co. with the new ones at once."""
        proc = self.process
        creds = proc.creds_to_change(self.task)
        try:
            return change(creds)
        finally:
            proc.creds_changed()
            self.kernel.republish(proc)

    # -- memory --------------------------------------------------------

    def read(self, addr: int, size: int) -> bytes:
        try:
            data = self.kernel.platform.read(self.task.host_tid, addr, size)
        except MemoryFault:
            raise SyscallError(errno.EFAULT) from None
        self._check_still_pending()
        return data

    def write(self, addr: int, data: bytes) -> None:
        try:
            self.kernel.platform.write(self.task.host_tid, addr, data)
        except MemoryFault:
            raise SyscallError(errno.EFAULT) from None

    def cstring(self, addr: int, limit: int = PATH_MAX) -> bytes:
        if addr == 0:
            raise SyscallError(errno.EFAULT)
        try:
            s = self.kernel.platform.read_cstring(self.task.host_tid, addr, limit)
        except MemoryFault:
            raise SyscallError(errno.EFAULT) from None
        if s is None:
            raise SyscallError(errno.ENAMETOOLONG)
        self._check_still_pending()
        return s

    def path(self, addr: int) -> str:
        """A path argument, decoded as the sentry keeps paths (surrogateescape)."""
        return os.fsdecode(self.cstring(addr))

    def pointer_array(self, addr: int, limit: int) -> tuple[list[int], int]:
        """A NULL-terminated array of pointers: (the pointers, the address of the NULL)."""
        out: list[int] = []
        while len(out) < limit:
            chunk = self.read(addr + 8 * len(out), 8)
            value = int.from_bytes(chunk, "little")
            if value == 0:
                return out, addr + 8 * len(out)
            out.append(value)
        raise SyscallError(errno.E2BIG)

    def push_scratch(self, data: bytes) -> int:
        """Write `data` below the caller's stack red zone; returns its address.

        Only for a call caught at a ptrace stop that will not return to the
        code that owns that stack (exec), and the memory must already be mapped.
        """
        if not self._scratch:
            self._scratch = self.kernel.platform.stack_pointer(self.task.host_tid) - 256
        self._scratch = (self._scratch - len(data)) & ~15
        self.write(self._scratch, data)
        return self._scratch

    def _check_still_pending(self) -> None:
        if not self.kernel.platform.still_valid(self.call):
            raise Abandoned()

    # -- paths ---------------------------------------------------------

    def at(self, dirfd: int, path_addr: int) -> tuple[str, str]:
        """An *at call's (base directory, path), read from the caller."""
        path = self.path(path_addr)
        return self.base_dir(dirfd, path), path

    def base_dir(self, dirfd: int, path: str | None = None) -> str:
        """The directory a relative `path` is resolved from: cwd or dirfd's. An
        absolute path never looks at dirfd (Linux's path_init), so a bad one
        is no error then; without `path` dirfd is always checked (openat2's
        RESOLVE_IN_ROOT resolves even "/" from it)."""
        if as_int(dirfd) == AT_FDCWD or (path is not None and path.startswith("/")):
            return self.process.fs.cwd
        f = self.fds.file(as_int(dirfd))
        if f.kind != "dir":
            raise SyscallError(errno.ENOTDIR)
        return f.path


def as_int(v: int) -> int:
    """A register holding a C int (sign-extended from 32 bits)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v



def as_long(v: int) -> int:
    """A register holding a C long or off_t (signed 64 bits)."""
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v & (1 << 63) else v
