"""Interface ioctls on sockets (SIOCGIF*): the sandbox's interfaces, never the host's.

struct ifreq is 16 bytes of name and a 24-byte union; SIOCGIFCONF fills
an array of them. Setting anything (SIOCSIF*) is EPERM. Under
--network=host the interfaces are the sentry's namespace's: a host
socket's getters run natively, another socket's (a unix one, which lives
in the workload's empty namespace) are asked there by the sentry
(namespace_ioctl).
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import socket
import struct

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.net.netlink import ARPHRD_ETHER, ARPHRD_LOOPBACK, _flags

IFREQ_SIZE = 40
SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR = 0x8910, 0x8912, 0x8913, 0x8915
SIOCGIFBRDADDR, SIOCGIFNETMASK, SIOCGIFMTU, SIOCGIFHWADDR = 0x8919, 0x891B, 0x8921, 0x8927
SIOCGIFINDEX, SIOCGIFTXQLEN = 0x8933, 0x8942
GETTERS = {SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK,
           SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFTXQLEN}


def is_interface_ioctl(request: int) -> bool:
    return 0x8900 <= request <= 0x89FF


def interface_ioctl(ctx, config, request: int, arg: int) -> int:
    if request not in GETTERS:
        raise SyscallError(errno.EPERM if request & 0xFF in range(0x10, 0x60) else errno.EINVAL)
    interfaces = config.interfaces()
    if request == SIOCGIFCONF:
        return _ifconf(ctx, interfaces, arg)
    raw = ctx.read(arg, IFREQ_SIZE)
    if request == SIOCGIFNAME:
        index = struct.unpack_from("<i", raw, 16)[0]
        match = [i for i in interfaces if i.index == index]
        if not match:
            raise SyscallError(errno.ENODEV)
        ctx.write(arg, match[0].name.encode().ljust(16, b"\0"))
        return 0
    name = raw[:16].split(b"\0", 1)[0].decode("latin-1")
    match = [i for i in interfaces if i.name == name]
    if not match:
        raise SyscallError(errno.ENODEV)
    ctx.write(arg + 16, _value(match[0], request).ljust(24, b"\0"))
    return 0


def _value(i, request: int) -> bytes:
    if request == SIOCGIFFLAGS:
        return struct.pack("<H", _flags(i) & 0xFFFF)
    if request in (SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK):
        if i.address is None:
            raise SyscallError(errno.EADDRNOTAVAIL)
        ip = {SIOCGIFADDR: i.address.ip, SIOCGIFNETMASK: i.address.netmask,
              SIOCGIFBRDADDR: i.address.network.broadcast_address}[request]
        return _sockaddr_in(ip)
    if request == SIOCGIFMTU:
        return struct.pack("<i", i.mtu)
    if request == SIOCGIFHWADDR:
        return struct.pack("<H", ARPHRD_LOOPBACK if i.loopback else ARPHRD_ETHER) + i.mac
    if request == SIOCGIFINDEX:
        return struct.pack("<i", i.index)
    return struct.pack("<i", 1000 if not i.loopback else 1000)   # SIOCGIFTXQLEN


def _sockaddr_in(ip) -> bytes:
    return struct.pack("<HH4s8x", socket.AF_INET, 0, ip.packed)


def _ifconf(ctx, interfaces, arg: int) -> int:
    length, buf = struct.unpack("<i4xQ", ctx.read(arg, 16))
    entries = [i.name.encode().ljust(16, b"\0") + _sockaddr_in(i.address.ip).ljust(24, b"\0")
               for i in interfaces if i.address is not None]
    if buf == 0:
        ctx.write(arg, struct.pack("<i", len(entries) * IFREQ_SIZE))
        return 0
    fit = entries[: max(length, 0) // IFREQ_SIZE]
    if fit:
        ctx.write(buf, b"".join(fit))
    ctx.write(arg, struct.pack("<i", len(fit) * IFREQ_SIZE))
    return 0


def namespace_ioctl(ctx, request: int, arg: int) -> int:
    """A getter answered by the sentry's own network namespace, on a socket of
    the sentry's: the caller's ifreq (or ifconf and its buffer) copied in and out."""
    if request not in GETTERS:
        raise SyscallError(errno.EPERM if request & 0xFF in range(0x10, 0x60) else errno.EINVAL)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        if request != SIOCGIFCONF:
            ctx.write(arg, fcntl.ioctl(s.fileno(), request, ctx.read(arg, IFREQ_SIZE)))
            return 0
        length, user_buf = struct.unpack("<i4xQ", ctx.read(arg, 16))
        buf = ctypes.create_string_buffer(max(length, 0) if user_buf else 0)
        ifc = struct.pack("<i4xQ", length, ctypes.addressof(buf) if user_buf else 0)
        filled = struct.unpack_from("<i", fcntl.ioctl(s.fileno(), request, ifc))[0]
        if user_buf and filled > 0:
            ctx.write(user_buf, buf.raw[:filled])
        ctx.write(arg, struct.pack("<i", filled))
        return 0
