"""Socket addresses as the workload writes and reads them (struct sockaddr_*).

An inet address is kept as (family, ip, port[, flowinfo, scope]) with `ip`
a Python ipaddress object; a unix address as (AF_UNIX, name) with `name`
the raw bytes after sun_family (a leading NUL for an abstract name, empty
for an unnamed socket).
"""
from __future__ import annotations

import dataclasses
import errno
import ipaddress
import socket
import struct

from runsc_py.sentry.errors import SyscallError

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6 = 0, socket.AF_UNIX, socket.AF_INET, socket.AF_INET6
UNIX_PATH_MAX = 108
SOCKADDR_IN = struct.Struct("<H2s4s8x")
SOCKADDR_IN6 = struct.Struct("<H2sI16sI")


@dataclasses.dataclass(frozen=True)
class InetAddress:
    family: int
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    flowinfo: int = 0
    scope: int = 0

    def with_port(self, port: int) -> "InetAddress":
        return dataclasses.replace(self, port=port)

    @property
    def v4(self) -> ipaddress.IPv4Address | None:
        """The IPv4 address this names (itself, or a v4-mapped v6 address)."""
        if isinstance(self.ip, ipaddress.IPv4Address):
            return self.ip
        return self.ip.ipv4_mapped

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}" if self.family == AF_INET else f"[{self.ip}]:{self.port}"


@dataclasses.dataclass(frozen=True)
class UnixAddress:
    name: bytes  # b"" unnamed, b"\0..." abstract, else a path

    @property
    def abstract(self) -> bool:
        return self.name.startswith(b"\0")

    def __str__(self) -> str:
        return "@" + self.name[1:].decode("latin-1") if self.abstract else self.name.decode("latin-1")


@dataclasses.dataclass(frozen=True)
class NetlinkAddress:
    port_id: int = 0     # 0 is the kernel (here: the sentry)
    groups: int = 0


SOCKADDR_NL = struct.Struct("<HHII")
AF_NETLINK = 16


def decode(raw: bytes, family: int):
    """Parse a sockaddr the workload passed for a socket of `family`."""
    if len(raw) < 2:
        raise SyscallError(errno.EINVAL)
    sa_family = struct.unpack_from("<H", raw)[0]
    if family == AF_NETLINK:
        if sa_family != AF_NETLINK or len(raw) < SOCKADDR_NL.size:
            raise SyscallError(errno.EINVAL)
        _, _, port_id, groups = SOCKADDR_NL.unpack_from(raw)
        return NetlinkAddress(port_id, groups)
    if family == AF_UNIX:
        if sa_family != AF_UNIX:
            raise SyscallError(errno.EINVAL)
        name = raw[2:]
        if not name.startswith(b"\0"):
            name = name.split(b"\0", 1)[0]
        return UnixAddress(name)
    if sa_family == AF_INET and family in (AF_INET, AF_INET6):
        if len(raw) < 16:
            raise SyscallError(errno.EINVAL)
        if family == AF_INET6:
            raise SyscallError(errno.EAFNOSUPPORT)
        _, port, ip, = SOCKADDR_IN.unpack_from(raw)
        return InetAddress(AF_INET, ipaddress.IPv4Address(ip), struct.unpack(">H", port)[0])
    if sa_family == AF_INET6 and family == AF_INET6:
        if len(raw) < 24:
            raise SyscallError(errno.EINVAL)
        raw = raw.ljust(SOCKADDR_IN6.size, b"\0")
        _, port, flow, ip, scope = SOCKADDR_IN6.unpack_from(raw)
        return InetAddress(AF_INET6, ipaddress.IPv6Address(ip), struct.unpack(">H", port)[0],
                           flow, scope)
    if sa_family == AF_UNSPEC:
        return None
    raise SyscallError(errno.EAFNOSUPPORT if family != AF_INET else errno.EINVAL)


def encode(addr) -> bytes:
    """The sockaddr bytes for an address (an unnamed unix socket: sun_family
    alone; None, a sender with no address: nothing)."""
    if addr is None:
        return b""
    if isinstance(addr, NetlinkAddress):
        return SOCKADDR_NL.pack(AF_NETLINK, 0, addr.port_id, addr.groups)
    if isinstance(addr, UnixAddress):
        return struct.pack("<H", AF_UNIX) + addr.name + (b"" if addr.abstract or not addr.name else b"\0")
    if addr.family == AF_INET:
        return SOCKADDR_IN.pack(AF_INET, struct.pack(">H", addr.port), addr.ip.packed)
    return SOCKADDR_IN6.pack(AF_INET6, struct.pack(">H", addr.port), addr.flowinfo,
                             addr.ip.packed, addr.scope)


def wildcard(family: int) -> InetAddress:
    ip = ipaddress.IPv4Address(0) if family == AF_INET else ipaddress.IPv6Address(0)
    return InetAddress(family, ip, 0)


def from_host(family: int, host_addr) -> object:
    """An address as Python's socket module returns it, as our address type."""
    if family == AF_UNIX:
        return UnixAddress(host_addr if isinstance(host_addr, bytes) else host_addr.encode())
    if family == AF_NETLINK:
        return NetlinkAddress(*host_addr) if host_addr else NetlinkAddress(0)
    if family == AF_INET:
        return InetAddress(AF_INET, ipaddress.IPv4Address(host_addr[0]), host_addr[1])
    return InetAddress(AF_INET6, ipaddress.IPv6Address(host_addr[0].split("%")[0]), host_addr[1],
                       host_addr[2], host_addr[3])


def to_host(addr) -> object:
    """Our address as Python's socket module takes it."""
    if isinstance(addr, UnixAddress):
        return addr.name
    if addr.family == AF_INET:
        return (str(addr.ip), addr.port)
    return (str(addr.ip), addr.port, addr.flowinfo, addr.scope)
