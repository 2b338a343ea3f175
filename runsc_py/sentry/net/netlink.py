"""NETLINK_ROUTE, answered by the sentry: the sandbox's links, addresses and routes.

Enough of rtnetlink for getifaddrs(3), `ip addr`, `ip link` and `ip route`:
RTM_GETLINK, RTM_GETADDR and RTM_GETROUTE dumps (and a single GETLINK by
index or name). Anything that would change the configuration is refused
with EPERM; other requests get EOPNOTSUPP. The workload's netlink socket
is one end of a host SOCK_SEQPACKET pair; the sentry holds the other end,
reads requests from it (or from a trapped sendto) and writes the answers.
"""
from __future__ import annotations

import errno
import socket
import struct

from runsc_py.sentry.net.config import Interface, NetworkConfig

NLMSG = struct.Struct("<IHHII")
IFINFO = struct.Struct("<BxHiII")
IFADDR = struct.Struct("<BBBBi")
RTMSG = struct.Struct("<BBBBBBBBI")
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 1, 2, 4, 0x300
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTM_CHANGES = {16, 17, 19, 20, 21, 24, 25, 28, 29, 32, 33}   # NEW/DEL/SET link, addr, route, neigh, rule
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_MULTICAST, IFF_LOWER_UP = 1, 2, 8, 0x40, 0x1000, 0x10000
ARPHRD_ETHER, ARPHRD_LOOPBACK = 1, 772
RT_TABLE_MAIN, RT_TABLE_LOCAL = 254, 255
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST = 0, 253, 254
RTPROT_KERNEL, RTPROT_BOOT = 2, 3
RTN_UNICAST, RTN_LOCAL = 1, 2
IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_TXQLEN, IFLA_OPERSTATE = 1, 2, 3, 4, 13, 16
IFLA_QDISC = 6
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST = 1, 2, 3, 4
IFA_F_PERMANENT = 0x80
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PREFSRC, RTA_TABLE = 1, 4, 5, 7, 15
IF_OPER_UP, IF_OPER_UNKNOWN = 6, 0


def answer(request: bytes, port_id: int, config: NetworkConfig) -> list[bytes]:
    """The datagrams that answer one datagram of requests."""
    out: list[bytes] = []
    for pos in _offsets(request):
        length, kind, flags, seq, _pid = NLMSG.unpack_from(request, pos)
        header, body = request[pos:pos + NLMSG.size], request[pos + NLMSG.size:pos + length]
        out += _one(kind, flags, seq, port_id, header, body, config)
    return out


def relay_reads(request: bytes, port_id: int) -> list[bytes]:
    """--network=host: pass read requests (RTM_GET*) to the host's rtnetlink, refuse the rest.

    The sentry's own netlink socket carries the sentry's capabilities, so
    the workload never gets one: a change to the host's links, addresses or
    routes is EPERM even with --network=host.
    """
    out: list[bytes] = []
    for pos in _offsets(request):
        length, kind, _flags, seq, _pid = NLMSG.unpack_from(request, pos)
        message = request[pos:pos + length]
        if kind >= RTM_NEWLINK and kind % 4 == 2:   # RTM_GET*
            out += [_readdress(chunk, port_id) for chunk in _ask_host(message)]
        else:
            out.append(_error(-errno.EPERM, seq, port_id, message[:NLMSG.size]))
    return out


def _ask_host(message: bytes) -> list[bytes]:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as nl:
        nl.settimeout(5)
        nl.sendto(message, (0, 0))
        chunks = []
        while True:
            chunk = nl.recv(1 << 16)
            chunks.append(chunk)
            kinds = [NLMSG.unpack_from(chunk, p)[1] for p in _offsets(chunk)]
            flags = [NLMSG.unpack_from(chunk, p)[2] for p in _offsets(chunk)]
            if not chunk or NLMSG_DONE in kinds or NLMSG_ERROR in kinds or not any(f & NLM_F_MULTI for f in flags):
                return chunks


def _offsets(chunk: bytes):
    """Where each whole netlink message of a datagram starts (a short or
    truncated one ends the walk)."""
    pos = 0
    while pos + NLMSG.size <= len(chunk):
        length = NLMSG.unpack_from(chunk, pos)[0]
        if length < NLMSG.size or pos + length > len(chunk):
            return
        yield pos
        pos += (length + 3) & ~3


def _readdress(chunk: bytes, port_id: int) -> bytes:
    """The replies as the workload's socket would get them (its port id)."""
    out = bytearray(chunk)
    for pos in _offsets(chunk):
        struct.pack_into("<I", out, pos + 12, port_id)
    return bytes(out)


def _one(kind, flags, seq, port_id, header, body, config) -> list[bytes]:
    dump = flags & NLM_F_DUMP == NLM_F_DUMP
    family = body[0] if body else 0
    if kind == RTM_GETLINK:
        links = [_link(i, seq, port_id, dump) for i in _chosen(config, body, dump)]
        if not links:
            return [_error(-errno.ENODEV, seq, port_id, header)]
        return [b"".join(links) + _done(seq, port_id)] if dump else links
    if kind == RTM_GETADDR and dump:
        msgs = [m for i in config.interfaces() for m in _addrs(i, seq, port_id, family)]
        return [b"".join(msgs) + _done(seq, port_id)]
    if kind == RTM_GETROUTE and dump:
        return [b"".join(_routes(config, seq, port_id, family)) + _done(seq, port_id)]
    if kind in RTM_CHANGES:
        return [_error(-errno.EPERM, seq, port_id, header)]
    return [_error(-errno.EOPNOTSUPP, seq, port_id, header)]


def _chosen(config, body: bytes, dump: bool) -> list[Interface]:
    interfaces = config.interfaces()
    if dump or len(body) < IFINFO.size:
        return interfaces
    index = IFINFO.unpack_from(body)[2]
    name = _attr(body[IFINFO.size:], IFLA_IFNAME)
    if index:
        return [i for i in interfaces if i.index == index]
    if name:
        return [i for i in interfaces if i.name.encode() == name.rstrip(b"\0")]
    return []


def _msg(kind: int, flags: int, seq: int, port_id: int, payload: bytes) -> bytes:
    return NLMSG.pack(NLMSG.size + len(payload), kind, flags, seq, port_id) + payload + bytes(-len(payload) % 4)


def _rta(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", 4 + len(data), kind) + data + bytes(-len(data) % 4)


def _attr(raw: bytes, want: int) -> bytes | None:
    pos = 0
    while pos + 4 <= len(raw):
        length, kind = struct.unpack_from("<HH", raw, pos)
        if length < 4:
            return None
        if kind == want:
            return raw[pos + 4:pos + length]
        pos += (length + 3) & ~3
    return None


def _flags(i: Interface) -> int:
    if i.loopback:
        return IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP
    return IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP


def _link(i: Interface, seq: int, port_id: int, dump: bool) -> bytes:
    body = IFINFO.pack(socket.AF_UNSPEC, ARPHRD_LOOPBACK if i.loopback else ARPHRD_ETHER, i.index,
                       _flags(i), 0)
    body += _rta(IFLA_IFNAME, i.name.encode() + b"\0") + _rta(IFLA_MTU, struct.pack("<I", i.mtu))
    body += _rta(IFLA_TXQLEN, struct.pack("<I", 1000)) + _rta(IFLA_QDISC, b"noqueue\0")
    body += _rta(IFLA_OPERSTATE, bytes([IF_OPER_UNKNOWN if i.loopback else IF_OPER_UP]))
    body += _rta(IFLA_ADDRESS, i.mac)
    body += _rta(IFLA_BROADCAST, bytes(6) if i.loopback else b"\xff" * 6)
    return _msg(RTM_NEWLINK, NLM_F_MULTI if dump else 0, seq, port_id, body)


def _addrs(i: Interface, seq: int, port_id: int, family: int) -> list[bytes]:
    out = []
    scope = RT_SCOPE_HOST if i.loopback else RT_SCOPE_UNIVERSE
    if i.address is not None and family in (0, socket.AF_INET):
        a = i.address
        body = IFADDR.pack(socket.AF_INET, a.network.prefixlen, IFA_F_PERMANENT, scope, i.index)
        body += _rta(IFA_ADDRESS, a.ip.packed) + _rta(IFA_LOCAL, a.ip.packed)
        if not i.loopback:
            body += _rta(IFA_BROADCAST, a.network.broadcast_address.packed)
        body += _rta(IFA_LABEL, i.name.encode() + b"\0")
        out.append(_msg(RTM_NEWADDR, NLM_F_MULTI, seq, port_id, body))
    if i.address6 is not None and family in (0, socket.AF_INET6):
        a6 = i.address6
        body = IFADDR.pack(socket.AF_INET6, a6.network.prefixlen, IFA_F_PERMANENT, scope, i.index)
        body += _rta(IFA_ADDRESS, a6.ip.packed)
        out.append(_msg(RTM_NEWADDR, NLM_F_MULTI, seq, port_id, body))
    return out


def _routes(config: NetworkConfig, seq: int, port_id: int, family: int) -> list[bytes]:
    out = []
    if family not in (0, socket.AF_INET):
        return out
    for i in config.interfaces():
        a = i.address
        if i.loopback:  # the local table, as Linux keeps it (ip route shows main only)
            body = RTMSG.pack(socket.AF_INET, 8, 0, 0, RT_TABLE_LOCAL, RTPROT_KERNEL, RT_SCOPE_HOST,
                              RTN_LOCAL, 0)
            body += _rta(RTA_TABLE, struct.pack("<I", RT_TABLE_LOCAL))
            body += _rta(RTA_DST, a.network.network_address.packed) + _rta(RTA_PREFSRC, a.ip.packed)
            body += _rta(RTA_OIF, struct.pack("<I", i.index))
            out.append(_msg(RTM_NEWROUTE, NLM_F_MULTI, seq, port_id, body))
            continue
        body = RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE,
                          RTN_UNICAST, 0)
        body += _rta(RTA_TABLE, struct.pack("<I", RT_TABLE_MAIN))
        body += _rta(RTA_GATEWAY, config.gateway.packed) + _rta(RTA_OIF, struct.pack("<I", i.index))
        out.append(_msg(RTM_NEWROUTE, NLM_F_MULTI, seq, port_id, body))
        body = RTMSG.pack(socket.AF_INET, a.network.prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_KERNEL,
                          RT_SCOPE_LINK, RTN_UNICAST, 0)
        body += _rta(RTA_TABLE, struct.pack("<I", RT_TABLE_MAIN))
        body += _rta(RTA_DST, a.network.network_address.packed) + _rta(RTA_PREFSRC, a.ip.packed)
        body += _rta(RTA_OIF, struct.pack("<I", i.index))
        out.append(_msg(RTM_NEWROUTE, NLM_F_MULTI, seq, port_id, body))
    return out


def _done(seq: int, port_id: int) -> bytes:
    return _msg(NLMSG_DONE, NLM_F_MULTI, seq, port_id, struct.pack("<i", 0))


def _error(err: int, seq: int, port_id: int, header: bytes) -> bytes:
    return _msg(NLMSG_ERROR, 0, seq, port_id, struct.pack("<i", err) + header)
