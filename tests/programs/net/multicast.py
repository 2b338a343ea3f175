"""Multicast and broadcast between sockets of one host (the sandbox's): a group's
members get what is sent to it, others and leavers do not; IP_MULTICAST_LOOP
off delivers nothing here; broadcast needs SO_BROADCAST."""
import errno
import socket
import struct

GROUP = "239.1.2.3"


def member(port, join=True, bind_to="0.0.0.0"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind_to, port))
    if join:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("0.0.0.0")))
    s.settimeout(0.5)
    return s


def got(s):
    try:
        data, addr = s.recvfrom(100)
        return data.decode()
    except (socket.timeout, BlockingIOError):
        return "nothing"


def attempt(what, fn):
    try:
        print(what, fn(), flush=True)
    except OSError as exc:
        print(what, errno.errorcode[exc.errno], flush=True)


probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
probe.bind(("0.0.0.0", 0))
port = probe.getsockname()[1]
probe.close()
a, b, outsider = member(port), member(port, bind_to=GROUP), member(port, join=False, bind_to="127.0.0.1")
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("loop default", sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP),
      "ttl default", sender.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL))
sender.sendto(b"hello group", (GROUP, port))
print("a", got(a), "| b", got(b), "| outsider", got(outsider))
a.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("0.0.0.0")))
sender.sendto(b"after a left", (GROUP, port))
print("a", got(a), "| b", got(b))
attempt("drop again", lambda: a.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP,
        struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("0.0.0.0"))))
attempt("join a unicast address", lambda: a.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
        struct.pack("4s4s", socket.inet_aton("127.0.0.1"), socket.inet_aton("0.0.0.0"))))
attempt("short ip_mreq", lambda: a.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, b"\0" * 4))
sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
sender.sendto(b"no loop", (GROUP, port))
print("loop off: b", got(b))

c = member(port, join=False)
bsender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
attempt("broadcast without SO_BROADCAST", lambda: bsender.sendto(b"x", ("255.255.255.255", port)))
