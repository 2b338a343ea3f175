"""A unix socket of type SOCK_RAW is a datagram socket, as Linux makes it,
by socket() and socketpair() alike."""
import socket


def main() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_RAW)
    a.send(b"one")
    a.send(b"two")
    print("socketpair", b.recv(10), b.recv(10), a.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_RAW)
    print("socket", s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE), s.type)


if __name__ == "__main__":
    main()
