"""POSIX message queues: host queues of the workload's own IPC namespace.

A queue's name lives in an IPC namespace's mqueue filesystem, so the
sentry opens and unlinks queues itself, from a thread that has joined
the calling workload's IPC namespace (never the host's: it refuses to
act if that would be its own namespace from boot), and installs the fd;
sending, receiving, notification and attributes then run natively on it
(syscalls/table.py). The host sees the sentry, root, as every queue's
owner; who may open or unlink one is decided here, by the sandbox's
credentials against the owner and mode the queue was made with, as
Linux's mqueue filesystem decides (a queue is a file of mode & ~umask
owned by the creator's fsuid/fsgid; the mqueue root is 1777, sticky).
"""
from __future__ import annotations

import errno
import os

from runsc_py.sentry import files, permissions
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat

CLONE_NEWIPC = 0x08000000


class MessageQueues:
    """The sandbox's queues by name: (uid, gid, mode) each was made with."""

    def __init__(self):
        self.owners: dict[bytes, tuple[int, int, int]] = {}
        self._joined: int | None = None          # the IPC namespace's inode joined
        self._own = os.stat("/proc/self/ns/ipc").st_ino   # the sentry's, at boot

    def open(self, host_tid: int, creds, umask: int, name: bytes, oflag: int, mode: int,
             attr: bytes | None) -> int:
        """mq_open for a workload task: the host fd of the queue."""
        from runsc_py._interpose import ffi, lib

        owner = self.owners.get(name)
        creating = bool(oflag & os.O_CREAT)
        accmode = oflag & os.O_ACCMODE   # (3 is the host's EINVAL, before any permission)
        if owner is not None and not (creating and oflag & os.O_EXCL) and accmode != os.O_ACCMODE \
                and not permissions.permitted(creds, _stat(owner), files.WANT[accmode]):
            raise SyscallError(errno.EACCES)
        self._join(host_tid)
        # the host's queue is the sentry's alone (0600); the sandbox's mode is kept here
        fd = lib.rp_mq_open(name, oflag, 0o600, attr if attr is not None else ffi.NULL)
        if fd < 0:
            raise SyscallError(-fd)
        if owner is None and creating:
            self.owners[name] = (creds.fsuid, creds.fsgid, mode & ~umask & 0o777)
        return fd

    def unlink(self, host_tid: int, creds, name: bytes) -> None:
        """mq_unlink: the sticky mqueue root's rule (the queue's owner, or
        CAP_FOWNER), then the host's answer (ENOENT, ENAMETOOLONG...)."""
        from runsc_py._interpose import lib

        owner = self.owners.get(name)
        if owner is not None and creds.fsuid not in (owner[0], 0) \
                and not creds.capable(permissions.CAP_FOWNER):
            raise SyscallError(errno.EPERM)
        self._join(host_tid)
        rc = lib.rp_mq_unlink(name)
        if rc < 0:
            raise SyscallError(-rc)
        self.owners.pop(name, None)

    def _join(self, host_tid: int) -> None:
        """Make the calling thread's IPC namespace the workload task's."""
        from runsc_py._interpose import lib

        fd = os.open(f"/proc/{host_tid}/ns/ipc", os.O_RDONLY | os.O_CLOEXEC)
        try:
            ino = os.fstat(fd).st_ino
            if ino == self._own:   # the workload shares the sentry's (the host's?): no
                raise SyscallError(errno.ENOSYS, "the workload has no IPC namespace of its own")
            if ino != self._joined:
                rc = lib.rp_setns(fd, CLONE_NEWIPC)
                if rc < 0:
                    raise SyscallError(-rc)
                self._joined = ino
        finally:
            os.close(fd)


def _stat(owner: tuple[int, int, int]) -> Stat:
    uid, gid, mode = owner
    return Stat(0o100000 | mode, 0, 0, 1, uid, gid, 0, 0, 4096, 0, 0, 0, 0)
