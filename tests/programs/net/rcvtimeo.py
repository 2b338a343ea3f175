"""SO_RCVTIMEO ends a receive or accept that waits: EAGAIN once it runs out,
for recv, recvfrom and recvmsg on UDP and TCP and for accept. (Only that it
waited at least the timeout is checked: how much longer is the machine's.)"""
import errno
import socket
import struct
import time

TIMEOUT = struct.pack("ll", 0, 200_000)   # 0.2 s


def waits(f) -> str:
    start = time.monotonic()
    try:
        f()
        return "returned"
    except OSError as exc:
        return f"{errno.errorcode[exc.errno]} after the timeout: {time.monotonic() - start >= 0.2}"


def main() -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    tcp, _ = listener.accept()
    for kind, s in (("udp", udp), ("tcp", tcp)):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, TIMEOUT)
        print(kind, struct.unpack("ll", s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)))
        print(kind, "recv", waits(lambda: s.recv(10)))
        print(kind, "recvfrom", waits(lambda: s.recvfrom(10)))
        print(kind, "recvmsg", waits(lambda: s.recvmsg(10)))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, TIMEOUT)
    print("accept", waits(listener.accept))
    client.close()


if __name__ == "__main__":
    main()
