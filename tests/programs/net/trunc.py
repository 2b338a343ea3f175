"""MSG_TRUNC on datagram sockets: the datagram's whole length, however little
was copied, with MSG_PEEK too (how `ip` sizes its netlink buffer), on UDP over
loopback, unix datagram sockets and rtnetlink."""
import socket
import struct
import sys

MSG = b"0123456789" * 10


def trunc(receiver, send) -> list:
    out = []
    send(MSG)
    out.append(("peek-empty", receiver.recvmsg(0, 0, socket.MSG_PEEK | socket.MSG_TRUNC)[2]))
    data, _, flags, _ = receiver.recvmsg(8, 0, socket.MSG_PEEK | socket.MSG_TRUNC)
    out.append(("peek-8", data, bool(flags & socket.MSG_TRUNC)))
    buf = bytearray(8)
    out.append(("recv_into-trunc", receiver.recv_into(buf, 8, socket.MSG_TRUNC), bytes(buf)))
    send(MSG)
    data, _, flags, _ = receiver.recvmsg(8)
    out.append(("recvmsg-8", data, bool(flags & socket.MSG_TRUNC)))
    send(MSG)
    out.append(("recvfrom-trunc", len(receiver.recvfrom(4, socket.MSG_TRUNC)[0])))
    return out


def main() -> None:
    udp_rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_rx.bind(("127.0.0.1", 0))
    udp_tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    print("udp", trunc(udp_rx, lambda m: udp_tx.sendto(m, udp_rx.getsockname())))
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    print("unix", trunc(b, a.send))
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    nl.bind((0, 0))
    # RTM_GETLINK dump: the reply's length is what matters, not its contents
    nl.send(struct.pack("=LHHLL", 32, 18, 0x301, 1, 0) + bytes(16))
    peeked = nl.recv_into(bytearray(1), 1, socket.MSG_PEEK | socket.MSG_TRUNC)
    whole = nl.recv(65536)
    print("netlink: the peek gives the message's length:", peeked == len(whole) > 16)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
