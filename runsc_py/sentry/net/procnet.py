"""/proc/net/*: the sandbox's sockets and interfaces in Linux's text formats.

The procfs calls `kernel.network.proc_net(name)`; these functions make
the bytes from the network table. Socket inodes are the host sockets'
(what /proc/PID/fd/N shows as socket:[N]).
"""
from __future__ import annotations

import socket

TCP_STATES = {"established": 1, "close": 7, "listen": 10}
UNIX_TYPES = {socket.SOCK_STREAM: 1, socket.SOCK_DGRAM: 2, socket.SOCK_SEQPACKET: 5}
SO_ACCEPTCON = 0x10000


def _hex4(ip) -> str:
    return ip.packed[::-1].hex().upper()


def _hex16(ip) -> str:
    raw = ip.packed
    return "".join(raw[i:i + 4][::-1].hex().upper() for i in range(0, 16, 4))


def _inet(addr, v6: bool) -> str:
    if addr is None:
        return ("0" * 32 if v6 else "0" * 8) + ":0000"
    ip = addr.ip
    if v6 and ip.version == 4:
        import ipaddress

        ip = ipaddress.IPv6Address(f"::ffff:{ip}")
    return f"{_hex16(ip) if v6 else _hex4(ip)}:{addr.port:04X}"


def inet_table(entries, proto: str, v6: bool) -> bytes:
    """/proc/net/{tcp,tcp6,udp,udp6}: entries are (Socket, inode, uid)."""
    addresses = ("local_address                         remote_address                        "
                 if v6 else "local_address rem_address   ")
    head = f"  sl  {addresses}st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    lines = [head]
    family = socket.AF_INET6 if v6 else socket.AF_INET
    n = 0
    for sock, inode, uid in entries:
        if sock.family != family or sock.proto_name != proto or sock.local is None:
            continue
        if proto == "tcp":
            st = TCP_STATES["listen"] if sock.listening else TCP_STATES["established"] if sock.peer \
                else TCP_STATES["close"]
        else:
            st = 1 if sock.peer else 7
        lines.append(f"{n:4}: {_inet(sock.local, v6)} {_inet(sock.peer, v6)} {st:02X} "
                     f"00000000:00000000 00:00000000 00000000 {uid:5} {0:8} {inode} 1 "
                     "0000000000000000 100 0 0 10 0\n")
        n += 1
    return "".join(lines).encode()


def unix_table(entries) -> bytes:
    lines = ["Num       RefCount Protocol Flags    Type St Inode Path\n"]
    for sock, inode, _uid in entries:
        if sock.family != socket.AF_UNIX:
            continue
        flags = SO_ACCEPTCON if sock.listening else 0
        state = 3 if sock.peer is not None and sock.peer.name != b"\0" else 1
        name = ""
        if sock.local is not None and sock.local.name:
            name = " " + str(sock.local)
        lines.append(f"0000000000000000: 00000002 00000000 {flags:08X} {UNIX_TYPES.get(sock.type, 1):04X} "
                     f"{state:02X} {inode:5}{name}\n")
    return "".join(lines).encode()


def dev_table(interfaces) -> bytes:
    lines = ["Inter-|   Receive                                                |  Transmit\n",
             " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
             "errs drop fifo colls carrier compressed\n"]
    for i in interfaces:
        lines.append(f"{i.name:>6}: " + " ".join(["0"] * 16) + "\n")
    return "".join(lines).encode()


def if_inet6_table(interfaces) -> bytes:
    lines = []
    for i in interfaces:
        if i.address6 is not None:
            scope = 0x10 if i.loopback else 0
            lines.append(f"{i.address6.ip.packed.hex()} {i.index:02x} {i.address6.network.prefixlen:02x} "
                         f"{scope:02x} 80 {i.name:>8}\n")
    return "".join(lines).encode()


def route_table(config) -> bytes:
    lines = ["Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"]
    for i in config.interfaces():
        if i.loopback:
            continue
        net = i.address.network
        lines.append(f"{i.name}\t00000000\t{_hex4(config.gateway)}\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
        lines.append(f"{i.name}\t{_hex4(net.network_address)}\t00000000\t0001\t0\t0\t0\t"
                     f"{_hex4(net.netmask)}\t0\t0\t0\n")
    return "".join(lines).encode()
