"""Datagrams from an unbound unix socket: the receiver gets them with no
address (a length of 0: Python's None), by recvfrom and recvmsg, sent with
sendto to a path or after connect; and a socketpair's datagrams likewise.
(The sentry once raised on the sender's missing name, and the receiver got
EIO: CPython's test_logging hung on it.)"""
import os
import shutil
import socket
import tempfile


def main() -> None:
    scratch = tempfile.mkdtemp()
    try:
        path = os.path.join(scratch, "receiver")
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.bind(path)
        sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.sendto(b"to a path", path)
        print("recvfrom", receiver.recvfrom(100))
        sender.connect(path)
        sender.send(b"connected")
        data, _, _, address = receiver.recvmsg(100)
        print("recvmsg", data, address)
        named = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        named.bind(os.path.join(scratch, "named"))
        named.sendto(b"from a name", path)
        data, address = receiver.recvfrom(100)
        print("named", data, os.path.basename(address))
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        a.send(b"pair")
        print("socketpair", b.recvfrom(100))
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
