"""sendmsg naming no address on inet sockets without a peer, and sendto to
port 0: UDP gives EDESTADDRREQ, TCP EPIPE (and SIGPIPE unless
MSG_NOSIGNAL), a datagram to port 0 EINVAL (udp_sendmsg, tcp_sendmsg)."""
import errno
import signal
import socket

pipes = []
signal.signal(signal.SIGPIPE, lambda *_: pipes.append(1))


def attempt(call) -> str:
    try:
        return f"sent {call()}"
    except OSError as exc:
        return errno.errorcode[exc.errno]


def main() -> None:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        print(family.name, "udp sendmsg", attempt(lambda: udp.sendmsg([b"x"])))
        print(family.name, "udp sendto port 0", attempt(lambda: udp.sendto(b"x", (host, 0))))
        tcp = socket.socket(family, socket.SOCK_STREAM)
        print(family.name, "tcp sendmsg", attempt(lambda: tcp.sendmsg([b"x"])), len(pipes))
        print(family.name, "tcp sendmsg nosignal",
              attempt(lambda: tcp.sendmsg([b"x"], [], socket.MSG_NOSIGNAL)), len(pipes))
        udp.connect((host, 9))
        print(family.name, "connected udp sendmsg", attempt(lambda: udp.sendmsg([b"x"])))


if __name__ == "__main__":
    main()
