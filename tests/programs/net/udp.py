import socket
import sys
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind(("127.0.0.1", 0))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.sendto(b"ping", a.getsockname())
data, src = a.recvfrom(100)
print(data, src[0], src[1] == b.getsockname()[1])
a.sendto(b"pong", src)
print(b.recvfrom(100)[0])
b.connect(a.getsockname())
b.send(b"x")
print(a.recv(10), b.getpeername() == a.getsockname())
# a sender bound to the wildcard: the receiver sees the source address the route
# gives (the loopback address it sent to), for a v4 and a v4-mapped v6 sender
w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
w.bind(("0.0.0.0", 0))
w.sendto(b"from the wildcard", a.getsockname())
data, src = a.recvfrom(100)
print(data, src[0], src[1] == w.getsockname()[1])
w6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
w6.bind(("::", 0))
w6.sendto(b"from ::", ("::ffff:127.0.0.1", a.getsockname()[1]))
data, src = a.recvfrom(100)
print(data, src[0], src[1] == w6.getsockname()[1])
if sys.argv[1:] == ["v6"]:  # the host may have IPv6 off; the test says
    c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    c.bind(("::1", 0)); print(c.getsockname()[0])
