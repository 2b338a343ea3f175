"""Host sockets the sentry makes for the sandbox, and borrowing guest ones.

A sandbox socket is backed by a host AF_UNIX socket created in the
workload's own (empty) network namespace, so the abstract names the
sentry binds there (for listeners and datagram endpoints) cannot be
reached from the host's namespace. The workload cannot name them either:
bind and connect are always the sentry's. Outbound (egress) and
`--network=host` sockets are made in the sentry's own namespace: "host"
below means that one. Under an OCI spec it is the container's (the
namespace `linux.namespaces` names by path, or the new one the sandbox
made for an entry without a path: sandbox/sandbox.py); it is the caller's
only when the spec has no network entry, and for `runsc-py do`.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import itertools
import os
import secrets
import select
import socket
import struct

from runsc_py.sentry.errors import SyscallError

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_libc = ctypes.CDLL(None, use_errno=True)


class HostSockets:
    def __init__(self):
        self._sandbox_ns: int | None = None
        self._own_ns = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._token = secrets.token_hex(6)
        self._serial = itertools.count(1)
        self._lo_up = False

    def enter_sandbox_namespace_of(self, host_tid: int) -> None:
        """Learn the workload's namespace (once, from any of its threads)."""
        if self._sandbox_ns is None:
            try:
                ns = os.open(f"/proc/{host_tid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return
            if os.fstat(ns).st_ino == os.fstat(self._own_ns).st_ino:
                os.close(ns)  # no namespace of its own (namespaces off): names carry a token
                ns = -1
            self._sandbox_ns = ns

    def sandbox_socket(self, sock_type: int) -> int:
        """A host AF_UNIX socket in the sandbox's namespace; returns its fd."""
        ns = self._sandbox_ns
        if ns is None or ns < 0:
            return _new_socket(socket.AF_UNIX, sock_type, 0)
        _setns(ns)
        try:
            return _new_socket(socket.AF_UNIX, sock_type, 0)
        finally:
            _setns(self._own_ns)

    def refused_socket(self, family: int, port: int) -> int | None:
        """A TCP socket whose non-blocking connect loopback has just refused (an fd).

        It is made in the sandbox's namespace, where nobody ever listens on
        TCP (every sandbox socket there is AF_UNIX), with `lo` brought up
        there the first time: Linux answers the SYN with a reset before
        connect returns, so the socket holds ECONNREFUSED as its pending
        error and polls, reads, writes and reports it exactly as a refused
        TCP socket (for SO_ERROR, recv, send, poll: all native). None if
        the sandbox has no namespace of its own (the host's loopback must
        not be probed) or the socket did not end up refused.
        """
        ns = self._sandbox_ns
        if ns is None or ns < 0:
            return None
        _setns(ns)
        try:
            if not self._lo_up:
                _bring_lo_up()
                self._lo_up = True
            s = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        except OSError:
            return None
        finally:
            _setns(self._own_ns)
        try:
            dest = ("127.0.0.1", port) if family == socket.AF_INET else ("::ffff:127.0.0.1", port)
            err = s.connect_ex(dest)
            ready = select.poll()
            ready.register(s, select.POLLERR)
            if err != errno.EINPROGRESS or not ready.poll(0):
                s.close()
                return None
            return s.detach()
        except OSError:
            s.close()
            return None

    def host_socket(self, family: int, sock_type: int, proto: int) -> int:
        """A socket in the sentry's namespace (egress, --network=host): the container's."""
        return _new_socket(family, sock_type, proto)

    def unique_name(self, what: str) -> bytes:
        """An abstract name for a sentry-bound endpoint, never a workload's."""
        return f"\0runsc-py-{self._token}-{what}-{next(self._serial)}".encode()

    def is_sentry_name(self, name: bytes) -> bool:
        return name.startswith(f"\0runsc-py-{self._token}-".encode())


def _new_socket(family: int, sock_type: int, proto: int) -> int:
    s = socket.socket(family, sock_type | socket.SOCK_CLOEXEC, proto)
    return s.detach()


def _bring_lo_up() -> None:
    """Set IFF_UP on `lo` in the current thread's namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh", b"lo", 0).ljust(40, b"\0")
        flags = struct.unpack_from("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP).ljust(40, b"\0"))


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET)")


@contextlib.contextmanager
def borrowed(kernel, task, guest_fd: int):
    """The host socket behind a guest fd, as a Python socket (closed after use)."""
    fd = kernel.borrow_fd(task, guest_fd)
    try:
        s = socket.socket(fileno=fd)
    except OSError:
        os.close(fd)
        raise SyscallError(errno.ENOTSOCK) from None
    try:
        yield s
    finally:
        s.close()
