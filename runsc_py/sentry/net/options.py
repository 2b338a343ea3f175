"""Socket options: which the sentry answers and which the host socket keeps.

A sandbox socket's host object is an AF_UNIX socket, which knows nothing
of TCP or IP options; the sentry keeps those (and the SOL_SOCKET ones
that describe the sandbox socket: its type, domain, protocol, error, peer
credentials, reuse flags) and answers them. Buffer sizes, timeouts and
SO_PASSCRED are the host socket's, so they run natively. A host-backed
socket (egress, --network=host) runs every option natively.
"""
from __future__ import annotations

import errno
import ipaddress
import socket
import struct

from runsc_py.platform import NATIVE
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.net.ancillary import RECEIVE_OPTIONS
from runsc_py.sentry.net.procnet import TCP_STATES

SOL_SOCKET, SOL_IP, SOL_TCP, SOL_UDP, SOL_IPV6, SOL_NETLINK = 1, 0, 6, 17, 41, 270
SO_TYPE, SO_ERROR, SO_PEERCRED, SO_ACCEPTCONN = 3, 4, 17, 30
SO_PROTOCOL, SO_DOMAIN = 38, 39
SO_REUSEADDR, SO_REUSEPORT, SO_LINGER = 2, 15, 13
IPV6_V6ONLY = 26
# options that would let an egress socket (a host TCP socket) choose where it goes or
# skip the handshake: TCP_REPAIR*, TCP_FASTOPEN*, SO_BINDTODEVICE, IP_TRANSPARENT, IP_FREEBIND
EGRESS_REFUSED = {(SOL_TCP, 19), (SOL_TCP, 20), (SOL_TCP, 21), (SOL_TCP, 22), (SOL_TCP, 29),
                  (SOL_TCP, 23), (SOL_TCP, 30), (SOL_SOCKET, 25), (SOL_IP, 19), (SOL_IP, 15),
                  (SOL_IPV6, 75)}
# the host socket's own: SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, SO_RCVLOWAT, SO_SNDLOWAT,
# SO_RCVTIMEO, SO_SNDTIMEO, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PEEK_OFF, SO_BUSY_POLL
# SO_TIMESTAMP, SO_TIMESTAMPNS (the host socket stamps what it queues)
HOST_OPTIONS = {7, 8, 16, 18, 19, 20, 21, 29, 32, 33, 35, 42, 46, 66, 67}
# options the sentry keeps per socket (values as set), with Linux's defaults. The
# receive options whose effect is IP-level ancillary data (IP_PKTINFO,
# IPV6_RECVPKTINFO, ...) are kept too: ancillary.py makes that data at recvmsg.
KEPT = {
    (SOL_SOCKET, 2): 0, (SOL_SOCKET, 15): 0, (SOL_SOCKET, 9): 0, (SOL_SOCKET, 6): 0,
    (SOL_SOCKET, 10): 0, (SOL_SOCKET, 12): 0, (SOL_SOCKET, 5): 0, (SOL_SOCKET, 36): 0,  # ..., SO_MARK
    (SOL_SOCKET, 25): 0,                                  # SO_BINDTODEVICE
    (SOL_SOCKET, SO_LINGER): b"\0" * 8,
}
INET_KEPT = {
    (SOL_TCP, 1): 0, (SOL_TCP, 2): 536, (SOL_TCP, 3): 0, (SOL_TCP, 4): 7200, (SOL_TCP, 5): 75,
    (SOL_TCP, 6): 9, (SOL_TCP, 7): 60, (SOL_TCP, 9): 0, (SOL_TCP, 12): 1, (SOL_TCP, 18): 0,
    (SOL_TCP, 23): 0, (SOL_TCP, 19): 0,
    (SOL_IP, 1): 0, (SOL_IP, 2): 64, (SOL_IP, 10): 0, (SOL_IP, 11): 1,
    (SOL_IP, 14): 0, (SOL_IP, 32): 1, (SOL_IP, 33): 1, (SOL_IP, 15): 0,
    (SOL_IPV6, 16): 64, (SOL_IPV6, 17): 0, (SOL_IPV6, IPV6_V6ONLY): 0,
    (SOL_IPV6, 67): 0, (SOL_IPV6, 23): 0, (SOL_IPV6, 18): 1, (SOL_IPV6, 19): 1,
    (SOL_IP, 34): 1, (SOL_IP, 49): 1,       # IP_MULTICAST_LOOP, IP_MULTICAST_ALL
    (SOL_UDP, 1): 0, (136, 10): 0, (136, 11): 0,   # UDP_CORK, UDPLITE_SEND_CSCOV, _RECV_CSCOV
    **RECEIVE_OPTIONS,
}


TCP_LINGER2, TCP_WINDOW_CLAMP, TCP_INFO, TCP_CONGESTION = 8, 10, 11, 13
SO_ATTACH_FILTER, SO_DETACH_FILTER = 26, 27
TCP_CA_NAME_MAX = 16
BPF_MAXINSNS = 4096
TCP_INFO_SIZE = 280   # struct tcp_info, as this host's kernel has it
INET_KEPT.update({(SOL_TCP, TCP_LINGER2): 60, (SOL_TCP, TCP_WINDOW_CLAMP): 65536})


# IP_ADD/DROP_MEMBERSHIP, IPV6_JOIN/LEAVE_GROUP: (join?, the group's family)
MEMBERSHIP = {(SOL_IP, 35): (True, socket.AF_INET), (SOL_IP, 36): (False, socket.AF_INET),
              (SOL_IPV6, 20): (True, socket.AF_INET6), (SOL_IPV6, 21): (False, socket.AF_INET6)}


def setsockopt(sock, level: int, name: int, value: bytes, host_mode: bool = False):
    """Record an option; returns NATIVE when the host socket keeps it."""
    if sock.backing == "host" and not host_mode and (level, name) in EGRESS_REFUSED:
        raise SyscallError(errno.EPERM)
    if sock.backing == "host" or (level == SOL_SOCKET and name in HOST_OPTIONS):
        return NATIVE
    _unix_levels(sock, level)
    key = (level, name)
    if key in MEMBERSHIP:
        return _membership(sock, key, value)
    if key == (SOL_TCP, TCP_CONGESTION) and sock.inet and sock.stream:
        return _congestion(sock, value)
    if level == SOL_SOCKET and name in (SO_ATTACH_FILTER, SO_DETACH_FILTER):
        return _filter(sock, name, value)
    if level == SOL_NETLINK and sock.family == 16:
        sock.options[key] = value
        return 0
    if key not in KEPT and not (sock.inet and key in INET_KEPT):
        raise SyscallError(errno.ENOPROTOOPT)
    if len(value) < 4 and not isinstance(KEPT.get(key, INET_KEPT.get(key)), bytes):
        raise SyscallError(errno.EINVAL)
    sock.options[key] = value
    flag = bool(int.from_bytes(value[:4], "little"))
    if key == (SOL_SOCKET, SO_REUSEADDR):
        sock.reuseaddr = flag
    elif key == (SOL_SOCKET, SO_REUSEPORT):
        sock.reuseport = flag
    elif key == (SOL_IPV6, IPV6_V6ONLY):
        if sock.family != socket.AF_INET6:
            raise SyscallError(errno.ENOPROTOOPT)
        if sock.local is not None:
            raise SyscallError(errno.EINVAL)
        sock.v6only = flag
    return 0


def _congestion(sock, value: bytes) -> int:
    """TCP_CONGESTION: one of the host's algorithms (ENOENT else), kept; the
    data path is a host unix socket, so none of them shapes anything."""
    name = value.split(b"\0", 1)[0][:TCP_CA_NAME_MAX - 1]
    available = _host_sysctl("tcp_available_congestion_control").split()
    if name.decode(errors="replace") not in available:
        raise SyscallError(errno.ENOENT)
    sock.options[(SOL_TCP, TCP_CONGESTION)] = name.ljust(TCP_CA_NAME_MAX, b"\0")
    return 0


def _filter(sock, name: int, value: bytes) -> int:
    """SO_ATTACH_FILTER's program checked as Linux checks its length (not run:
    a sandbox socket's data moves on a host unix socket); SO_DETACH_FILTER."""
    if name == SO_DETACH_FILTER:
        if sock.options.pop((SOL_SOCKET, SO_ATTACH_FILTER), None) is None:
            raise SyscallError(errno.ENOENT)
        return 0
    if len(value) < 16:
        raise SyscallError(errno.EINVAL)
    length = struct.unpack_from("<H", value)[0]
    if not 0 < length <= BPF_MAXINSNS:
        raise SyscallError(errno.EINVAL)
    sock.options[(SOL_SOCKET, SO_ATTACH_FILTER)] = value[:16]
    return 0


def _host_sysctl(name: str) -> str:
    with open(f"/proc/sys/net/ipv4/{name}") as f:
        return f.read().strip()


def _tcp_info(sock) -> bytes:
    """struct tcp_info: the state, and a loopback connection's usual figures."""
    state = TCP_STATES["listen"] if sock.listening else \
        TCP_STATES["established"] if sock.peer is not None else TCP_STATES["close"]
    info = bytearray(TCP_INFO_SIZE)
    info[0] = state
    # rto, ato (us), snd_mss, rcv_mss; pmtu; rtt (us); snd_cwnd; advmss
    struct.pack_into("<IIII", info, 8, 200000, 40000, 32768, 32768)
    struct.pack_into("<I", info, 60, 65536)
    struct.pack_into("<I", info, 68, 50)
    struct.pack_into("<I", info, 80, 10)
    struct.pack_into("<I", info, 84, 65483)
    return bytes(info)


def _membership(sock, key, value: bytes) -> int:
    """Join or leave a multicast group (the network table delivers to members)."""
    join, family = MEMBERSHIP[key]
    if sock.stream:
        raise SyscallError(errno.EPROTO)
    if not sock.inet or (family == socket.AF_INET6 and sock.family != socket.AF_INET6):
        raise SyscallError(errno.ENOPROTOOPT)
    size = 8 if family == socket.AF_INET else 20
    if len(value) < size:
        raise SyscallError(errno.EINVAL)
    group = ipaddress.ip_address(value[:4] if family == socket.AF_INET else value[:16])
    if not group.is_multicast:
        raise SyscallError(errno.EINVAL)
    if join:
        if group in sock.groups:
            raise SyscallError(errno.EADDRINUSE)
        sock.groups.add(group)
    else:
        if group not in sock.groups:
            raise SyscallError(errno.EADDRNOTAVAIL)
        sock.groups.discard(group)
    return 0


def getsockopt(sock, level: int, name: int):
    """An option's value as bytes; NATIVE when the host socket has it."""
    if sock.backing == "host" and name not in (SO_PEERCRED,):
        return NATIVE
    if level == SOL_SOCKET:
        if name in HOST_OPTIONS:
            return NATIVE
        answer = _described(sock, name)
        if answer is not None:
            return answer
    _unix_levels(sock, level)
    key = (level, name)
    if sock.inet and sock.stream and key == (SOL_TCP, TCP_INFO):
        return _tcp_info(sock)
    if sock.inet and sock.stream and key == (SOL_TCP, TCP_CONGESTION) and key not in sock.options:
        return _host_sysctl("tcp_congestion_control").encode().ljust(TCP_CA_NAME_MAX, b"\0")
    if key in sock.options:
        return sock.options[key]
    default = KEPT.get(key, INET_KEPT.get(key) if sock.inet else None)
    if default is None and level == SOL_NETLINK and sock.family == 16:
        default = 0
    if default is None:
        raise SyscallError(errno.ENOPROTOOPT)
    return default if isinstance(default, bytes) else struct.pack("<i", default)


def _unix_levels(sock, level: int) -> None:
    """A unix socket has options at SOL_SOCKET only: Linux's unix protocol
    has no get/setsockopt of its own, so any other level is EOPNOTSUPP."""
    if sock.family == socket.AF_UNIX and level != SOL_SOCKET:
        raise SyscallError(errno.EOPNOTSUPP)


def _described(sock, name: int) -> bytes | None:
    if name == SO_TYPE:
        return struct.pack("<i", sock.type)
    if name == SO_DOMAIN:
        return struct.pack("<i", sock.family)
    if name == SO_PROTOCOL:
        return struct.pack("<i", sock.protocol)
    if name == SO_ACCEPTCONN:
        return struct.pack("<i", int(sock.listening))
    if name == SO_ERROR:
        err, sock.error = sock.error, 0
        return struct.pack("<i", err)
    if name == SO_PEERCRED:
        c = sock.peer_creds
        if c is None:
            return struct.pack("<iII", 0, 0xFFFFFFFF, 0xFFFFFFFF)
        return struct.pack("<iII", c.pid, c.uid, c.gid)
    return None
