"""IP and IPv6 ancillary data on sandbox UDP sockets, made by the sentry.

A sandbox UDP socket is a host AF_UNIX datagram socket: no IP header ever
exists, so the receive options that report one (IP_PKTINFO, IP_RECVTTL,
IP_RECVTOS, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS) are
answered from what the sentry knows. `recvmsg` is always the sentry's,
so it appends the control messages Linux would, in Linux's order (after
the SOL_SOCKET ones; SO_TIMESTAMP(NS) is the host socket's own), and
truncates them as `put_cmsg` does.

Where the values come from: the hop limit / TTL and traffic class / TOS
are the sender's socket options (Linux's defaults when unset: 64, 0),
or the values a `sendmsg` gave per packet in its own control messages
(IP_TTL, IP_TOS, IPV6_HOPLIMIT, IPV6_TCLASS). Such a message is sent by
the sentry from an *alias* of the sender (a socket bound to another
sentry name that stands for the same sender), so the receiver learns the
packet's values from the name it came from, datagram by datagram. The
packet's destination (for PKTINFO) is the receiver's own address when it
is bound to one, else the address the sender named (aliases carry it
too) or its connected peer, else loopback; the interface is the one
holding that address.
"""
from __future__ import annotations

import errno
import ipaddress
import socket
import struct

from runsc_py.sentry.errors import SyscallError

SOL_SOCKET, SOL_IP, SOL_IPV6 = 1, 0, 41
IP_TOS, IP_TTL, IP_PKTINFO, IP_RECVTTL, IP_RECVTOS = 1, 2, 8, 12, 13
IPV6_UNICAST_HOPS, IPV6_RECVPKTINFO, IPV6_PKTINFO = 16, 49, 50
IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT, IPV6_RECVTCLASS, IPV6_TCLASS = 51, 52, 66, 67
DEFAULT_TTL = 64
MSG_CTRUNC = 0x8
CMSGHDR = struct.Struct("<QiI")

# receive options the sentry keeps (off by default) and answers on receive
RECEIVE_OPTIONS = {(SOL_IP, IP_PKTINFO): 0, (SOL_IP, IP_RECVTTL): 0, (SOL_IP, IP_RECVTOS): 0,
                   (SOL_IPV6, IPV6_RECVPKTINFO): 0, (SOL_IPV6, IPV6_RECVHOPLIMIT): 0,
                   (SOL_IPV6, IPV6_RECVTCLASS): 0}


def _int_cmsg(payload: bytes, low: int) -> int:
    if len(payload) != 4:
        raise SyscallError(errno.EINVAL)
    value = struct.unpack("<i", payload)[0]
    if not low <= value <= 255:
        raise SyscallError(errno.EINVAL)
    return value


def packet_options(cmsgs, family: int) -> dict:
    """The per-packet values a sendmsg's control messages set, checked as Linux
    checks them (a wrong length or value: EINVAL). SOL_IPV6 ones count on
    AF_INET6 sockets only, as on Linux."""
    out = {}
    for level, kind, payload in cmsgs:
        if level == SOL_IP:
            if kind == IP_TTL:
                value = _int_cmsg(payload, 1)
                out["ttl"] = value
            elif kind == IP_TOS:
                if len(payload) == 1:
                    out["tos"] = payload[0]
                else:
                    out["tos"] = _int_cmsg(payload, 0)
            elif kind == IP_PKTINFO and len(payload) != 12:
                raise SyscallError(errno.EINVAL)
        elif level == SOL_IPV6 and family == socket.AF_INET6:
            if kind == IPV6_HOPLIMIT:
                value = _int_cmsg(payload, -1)
                if value >= 0:
                    out["hoplimit"] = value
            elif kind == IPV6_TCLASS:
                # -1 is accepted and kept as it is: Linux's cork stores it in
                # the 8-bit class, so the packet carries 255 (measured on 6.x,
                # not the socket's class that older kernels and RFC 3542 say)
                out["tclass"] = _int_cmsg(payload, -1) & 0xFF
            elif kind == IPV6_PKTINFO and len(payload) != 20:
                raise SyscallError(errno.EINVAL)
    return out


def wants(receiver) -> bool:
    """Whether the receiver asked for any of the IP-level data."""
    return any(_on(receiver, key) for key in RECEIVE_OPTIONS)


def _on(sock, key) -> bool:
    value = sock.options.get(key)
    return bool(value) and bool(int.from_bytes(value[:4], "little"))


def _option(sock, level: int, name: int, default: int) -> int:
    if sock is None:
        return default
    value = sock.options.get((level, name))
    if not value:
        return default
    n = int.from_bytes(value[:4], "little", signed=True) if len(value) >= 4 else value[0]
    return default if n < 0 else n


def destination(receiver, sender, packet: dict):
    """The address the datagram was sent to, as an ip_address."""
    local = receiver.local
    if local is not None and not local.ip.is_unspecified:
        return local.ip
    if "dst" in packet:
        return packet["dst"]
    if sender is not None and sender.peer is not None and hasattr(sender.peer, "ip"):
        return sender.peer.ip
    return ipaddress.IPv4Address("127.0.0.1") if receiver.family == socket.AF_INET \
        else ipaddress.IPv6Address("::1")


def _ifindex(ip, config) -> int:
    v4 = ip if isinstance(ip, ipaddress.IPv4Address) else ip.ipv4_mapped
    if v4 is not None and not v4.is_loopback and config.mode == "sandbox" and v4 == config.eth0.ip:
        return 2
    return 1


def received(receiver, sender, packet: dict, ipv4_packet: bool, config) -> list[tuple[int, int, bytes]]:
    """The IP-level control messages a receive on `receiver` gets, in Linux's order."""
    out = []
    dst = destination(receiver, sender, packet)
    v6 = receiver.family == socket.AF_INET6
    if v6 and _on(receiver, (SOL_IPV6, IPV6_RECVPKTINFO)):   # first, as udpv6_recvmsg puts it
        ip6 = dst if isinstance(dst, ipaddress.IPv6Address) else ipaddress.IPv6Address(f"::ffff:{dst}")
        out.append((SOL_IPV6, IPV6_PKTINFO, struct.pack("<16sI", ip6.packed, _ifindex(dst, config))))
    if ipv4_packet:
        if _on(receiver, (SOL_IP, IP_PKTINFO)):
            v4 = dst if isinstance(dst, ipaddress.IPv4Address) else \
                (dst.ipv4_mapped or ipaddress.IPv4Address(0))
            out.append((SOL_IP, IP_PKTINFO,
                         struct.pack("<i4s4s", _ifindex(dst, config), v4.packed, v4.packed)))
        if _on(receiver, (SOL_IP, IP_RECVTTL)):
            ttl = packet.get("ttl", _option(sender, SOL_IP, IP_TTL, DEFAULT_TTL))
            out.append((SOL_IP, IP_TTL, struct.pack("<i", ttl)))
        if _on(receiver, (SOL_IP, IP_RECVTOS)):
            tos = packet.get("tos", _option(sender, SOL_IP, IP_TOS, 0))
            out.append((SOL_IP, IP_TOS, bytes([tos & 0xFF])))
    elif v6:
        if _on(receiver, (SOL_IPV6, IPV6_RECVHOPLIMIT)):
            hops = packet.get("hoplimit", _option(sender, SOL_IPV6, IPV6_UNICAST_HOPS, DEFAULT_TTL))
            out.append((SOL_IPV6, IPV6_HOPLIMIT, struct.pack("<i", hops)))
        if _on(receiver, (SOL_IPV6, IPV6_RECVTCLASS)):
            tclass = packet.get("tclass", _option(sender, SOL_IPV6, IPV6_TCLASS, 0))
            out.append((SOL_IPV6, IPV6_TCLASS, struct.pack("<i", tclass)))
    return out


def put_cmsg(level: int, kind: int, payload: bytes, room: int) -> tuple[bytes, bool]:
    """One control message as Linux's put_cmsg writes it into `room` bytes:
    (the bytes, whether it was truncated). Too little room for the header:
    nothing; too little for the data: the header and what fits, with
    cmsg_len saying how much."""
    length = CMSGHDR.size + len(payload)
    if room < CMSGHDR.size:
        return b"", True
    if room < length:
        return CMSGHDR.pack(room, level, kind) + payload[:room - CMSGHDR.size], True
    msg = CMSGHDR.pack(length, level, kind) + payload
    pad = min(-len(msg) % 8, room - len(msg))
    return msg + bytes(pad), False
