"""The one error type of the syscall layer.

Handlers and subsystems raise SyscallError(errno); the dispatcher turns it
into the call's failure once, at the boundary (sentry/kernel.py).
"""
from __future__ import annotations

import errno as errno_mod
import os


class SyscallError(Exception):
    def __init__(self, errno: int, message: str = ""):
        super().__init__(message or os.strerror(errno))
        self.errno = errno

    @property
    def name(self) -> str:
        return errno_mod.errorcode.get(self.errno, str(self.errno))


def fail(errno: int) -> SyscallError:
    """Shorthand for `raise fail(errno.ENOENT)` in handlers."""
    return SyscallError(errno)
