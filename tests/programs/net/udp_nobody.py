"""A UDP socket connected to a port nobody has yet: `send` works (the
datagram is lost), and once a socket binds the port, what the client sends
reaches it, from the client's address. (Linux would also report the first
datagram's port-unreachable as ECONNREFUSED at a later call; the pending
error is cleared here before it could show, as the sandbox has none:
docs/compatibility.md.) A socket connected to a group sends to its members."""
import socket
import struct

GROUP = "239.1.2.3"   # administratively scoped, as multicast.py's


def main() -> None:
    family, host = socket.AF_INET, "127.0.0.1"
    probe = socket.socket(family, socket.SOCK_DGRAM)
    probe.bind((host, 0))
    port = probe.getsockname()[1]
    probe.close()   # nobody has the port now
    client = socket.socket(family, socket.SOCK_DGRAM)
    client.connect((host, port))
    print("send to nobody", client.send(b"lost"))
    client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)   # Linux's port-unreachable, if any
    server = socket.socket(family, socket.SOCK_DGRAM)
    server.bind((host, port))
    server.settimeout(10)
    for word in (b"hello", b"again", b"third"):
        print("send", client.send(word))
        data, sender = server.recvfrom(100)
        print("received", data, "from the client", sender == client.getsockname())
    server.sendto(b"reply", client.getsockname())
    print("the client hears back", client.recv(100))
    member = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    member.bind(("0.0.0.0", 0))
    member.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                      struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("0.0.0.0")))
    member.settimeout(10)
    to_group = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    to_group.connect((GROUP, member.getsockname()[1]))
    print("send to a group", to_group.send(b"to the group"))
    print("the member gets", member.recvfrom(100)[0])
    try:   # without IP_RECVERR nothing is queued there: never waits
        client.recvmsg(10, 0, socket.MSG_ERRQUEUE)
    except BlockingIOError:
        print("an empty error queue: EAGAIN")


if __name__ == "__main__":
    main()
