"""sendto with an address on a unix stream socket: EISCONN once connected,
EOPNOTSUPP before (unix_stream_sendmsg takes no address); a TCP socket
ignores the address; a seqpacket socket drops it and sends."""
import errno
import socket


def attempt(s, data, address) -> str:
    try:
        return f"sent {s.sendto(data, address)}"
    except OSError as exc:
        return errno.errorcode[exc.errno]


def main() -> None:
    a, b = socket.socketpair()
    print("connected unix stream", attempt(a, b"x", "/nonexistent"))
    lone = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    print("unconnected unix stream", attempt(lone, b"x", "/nonexistent"))
    p, q = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    print("seqpacket", attempt(p, b"x", "/nonexistent"), q.recv(4))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    print("tcp", attempt(client, b"tcp", ("127.0.0.1", 1)), server.recv(4))


if __name__ == "__main__":
    main()
