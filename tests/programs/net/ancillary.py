"""IP/IPv6 receive ancillary data on UDP sockets: IP_PKTINFO, IP_RECVTTL,
IP_RECVTOS, SO_TIMESTAMP(NS), per-packet IP_TTL/IP_TOS from sendmsg, the
kernel's truncation; with "v6": IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT,
IPV6_RECVTCLASS and per-packet IPV6_HOPLIMIT/IPV6_TCLASS."""
import socket
import struct
import sys
import time

IP_PKTINFO, IP_RECVTTL, IP_RECVTOS = 8, 12, 13
SO_TIMESTAMP, SO_TIMESTAMPNS = 29, 35
NAMES = {(0, 8): "IP_PKTINFO", (0, 2): "IP_TTL", (0, 1): "IP_TOS", (1, 29): "SCM_TIMESTAMP",
         (1, 35): "SCM_TIMESTAMPNS", (41, 50): "IPV6_PKTINFO", (41, 52): "IPV6_HOPLIMIT",
         (41, 67): "IPV6_TCLASS"}


def show(what, result):
    data, anc, flags, addr = result
    items = []
    for level, kind, payload in anc:
        name = NAMES.get((level, kind), f"{level}/{kind}")
        if kind in (SO_TIMESTAMP, SO_TIMESTAMPNS) and level == 1 and len(payload) == 16:
            sec, frac = struct.unpack("<qq", payload)
            items.append(f"{name}(len {len(payload)}, recent {abs(sec - time.time()) < 60})")
        elif (level, kind) == (0, 8) and len(payload) == 12:
            index, spec, dst = struct.unpack("<i4s4s", payload)
            items.append(f"{name}(if {index}, {socket.inet_ntoa(spec)}, {socket.inet_ntoa(dst)})")
        elif (level, kind) == (41, 50) and len(payload) == 20:
            ip, index = struct.unpack("<16sI", payload)
            items.append(f"{name}({socket.inet_ntop(socket.AF_INET6, ip)}, if {index})")
        elif len(payload) == 4:
            items.append(f"{name}({struct.unpack('<i', payload)[0]})")
        else:
            items.append(f"{name}({payload.hex()})")
    print(f"{what}: {data!r} from {addr[0]} flags {flags & socket.MSG_CTRUNC:#x} [{', '.join(items)}]",
          flush=True)


def receiver(family, host, *options):
    r = socket.socket(family, socket.SOCK_DGRAM)
    r.bind((host, 0))
    for level, name in options:
        r.setsockopt(level, name, 1)
    r.settimeout(5)
    return r


def ipv4():
    r = receiver(socket.AF_INET, "127.0.0.1", (0, IP_PKTINFO), (0, IP_RECVTTL), (0, IP_RECVTOS))
    print("getsockopt IP_PKTINFO", r.getsockopt(0, IP_PKTINFO))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"defaults", r.getsockname())
    show("defaults", r.recvmsg(100, 1024))
    s.setsockopt(0, socket.IP_TTL, 7)
    s.setsockopt(0, socket.IP_TOS, 0x10)
    s.sendto(b"options", r.getsockname())
    show("options", r.recvmsg(100, 1024))
    s.sendmsg([b"per packet"], [(0, socket.IP_TTL, struct.pack("i", 3)),
                                (0, socket.IP_TOS, bytes([0x28]))], 0, r.getsockname())
    show("per packet", r.recvmsg(100, 1024))
    s.sendto(b"back to options", r.getsockname())
    show("back to options", r.recvmsg(100, 1024))
    try:
        s.sendmsg([b"bad"], [(0, socket.IP_TTL, struct.pack("i", 0))], 0, r.getsockname())
    except OSError as exc:
        print("IP_TTL 0:", exc.errno)
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.connect(r.getsockname())
    c.setsockopt(0, socket.IP_TTL, 9)
    c.send(b"connected")
    show("connected", r.recvmsg(100, 1024))
    for room in (0, 1, socket.CMSG_LEN(0), socket.CMSG_LEN(4) - 1, socket.CMSG_SPACE(12)):
        s.sendto(b"room", r.getsockname())
        show(f"room {room}", r.recvmsg(100, room))
    w = receiver(socket.AF_INET, "0.0.0.0", (0, IP_PKTINFO))
    s.sendto(b"to wildcard", ("127.0.0.1", w.getsockname()[1]))
    show("wildcard", w.recvmsg(100, 1024))
    t = receiver(socket.AF_INET, "127.0.0.1", (1, SO_TIMESTAMP))
    s.sendto(b"stamped", t.getsockname())
    show("SO_TIMESTAMP", t.recvmsg(100, 1024))
    t.setsockopt(1, SO_TIMESTAMP, 0)
    t.setsockopt(1, SO_TIMESTAMPNS, 1)
    s.sendto(b"stamped ns", t.getsockname())
    show("SO_TIMESTAMPNS", t.recvmsg(100, 1024))
    plain = receiver(socket.AF_INET, "127.0.0.1")
    s.sendto(b"nothing asked", plain.getsockname())
    show("no options", plain.recvmsg(100, 1024))


def ipv6():
    r = receiver(socket.AF_INET6, "::1", (41, socket.IPV6_RECVPKTINFO), (41, socket.IPV6_RECVHOPLIMIT),
                 (41, socket.IPV6_RECVTCLASS))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.sendto(b"v6 defaults", r.getsockname())
    show("v6 defaults", r.recvmsg(100, 1024))
    s.setsockopt(41, socket.IPV6_UNICAST_HOPS, 5)
    s.setsockopt(41, socket.IPV6_TCLASS, 0x20)
    s.sendto(b"v6 options", r.getsockname())
    show("v6 options", r.recvmsg(100, 1024))
    s.sendmsg([b"v6 per packet"], [(41, socket.IPV6_HOPLIMIT, struct.pack("i", 2)),
                                   (41, socket.IPV6_TCLASS, struct.pack("i", -1))], 0, r.getsockname())
    show("v6 per packet", r.recvmsg(100, 1024))
    try:
        s.sendmsg([b"odd"], [(41, socket.IPV6_TCLASS, struct.pack("i", 1) + b"\0")], 0, r.getsockname())
    except OSError as exc:
        print("odd IPV6_TCLASS:", exc.errno)


ipv4()
if "v6" in sys.argv[1:]:
    ipv6()
