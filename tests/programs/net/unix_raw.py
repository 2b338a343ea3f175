"""A unix socket of type SOCK_RAW is a datagram socket, as Linux makes it,
by socket() and socketpair() alike; and a unix socket has options at
SOL_SOCKET only (any other level: EOPNOTSUPP)."""
import errno
import socket


def main() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_RAW)
    a.send(b"one")
    a.send(b"two")
    print("socketpair", b.recv(10), b.recv(10), a.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_RAW)
    print("socket", s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE), s.type)
    for sock in (a, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)):
        for level, name in ((270, 1), (socket.IPPROTO_TCP, socket.TCP_NODELAY), (socket.SOL_IP, 1)):
            for op in ("get", "set"):
                try:
                    if op == "get":
                        sock.getsockopt(level, name)
                    else:
                        sock.setsockopt(level, name, 1)
                    print(op, level, name, "ok")
                except OSError as exc:
                    print(op, level, name, errno.errorcode[exc.errno])


if __name__ == "__main__":
    main()
