"""Socket semantics programs rely on, printed so native and sandboxed runs compare."""
import errno
import os
import select
import socket
import struct
import sys


def attempt(what, fn):
    try:
        print(what, "->", fn())
    except OSError as exc:
        print(what, "->", errno.errorcode.get(exc.errno, exc.errno))


def listener(host="127.0.0.1", port=0, family=socket.AF_INET, reuse=False):
    s = socket.socket(family)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(8)
    return s


a = listener()
port = a.getsockname()[1]
attempt("ephemeral port", lambda: 32768 <= port <= 60999)
attempt("bind same port", lambda: listener(port=port))
attempt("bind same port, both reuseaddr", lambda: listener(port=port, reuse=True))
b = socket.socket()
attempt("bind in use, unlistened reuseaddr pair",
        lambda: (b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1), b.bind(("127.0.0.1", 0)))[1])
attempt("connect refused", lambda: socket.create_connection(("127.0.0.1", 1)))
attempt("bind foreign address", lambda: socket.socket().bind(("192.0.2.1", 0)))
attempt("getpeername unconnected", lambda: socket.socket().getpeername())
attempt("getsockname fresh", lambda: socket.socket().getsockname())
attempt("accept non-blocking, empty", lambda: (a.setblocking(False), a.accept())[1])
a.setblocking(True)
attempt("SO_TYPE", lambda: a.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
attempt("SO_ACCEPTCONN", lambda: a.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
attempt("SO_DOMAIN", lambda: a.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN))
attempt("SO_PROTOCOL", lambda: a.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL))
c = socket.socket()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
attempt("TCP_NODELAY", lambda: c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
attempt("SO_KEEPALIVE default", lambda: c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
attempt("SO_KEEPALIVE set", lambda: c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0)
c.setblocking(False)
attempt("non-blocking connect", lambda: c.connect_ex(("127.0.0.1", port)) in (0, errno.EINPROGRESS))
select.select([], [c], [], 5)
attempt("SO_ERROR", lambda: c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
ep = select.epoll()
ep.register(a.fileno(), select.EPOLLIN)
attempt("epoll on listener", lambda: [e for _, e in ep.poll(5)] == [select.EPOLLIN])
s, addr = a.accept()
attempt("peer is client", lambda: addr == c.getsockname())
attempt("client peer", lambda: c.getpeername() == ("127.0.0.1", port))
attempt("server local", lambda: s.getsockname() == ("127.0.0.1", port))
c.setblocking(True)
c.sendall(b"x" * 100000)
c.shutdown(socket.SHUT_WR)
got = b""
while chunk := s.recv(65536):
    got += chunk
attempt("half close, all bytes", lambda: len(got))
s.sendall(b"bye")
attempt("reply after half close", lambda: c.recv(10))
s.close()
attempt("EOF after close", lambda: c.recv(10))
attempt("connect twice", lambda: c.connect(("127.0.0.1", port)))
if sys.argv[1:] == ["v6"]:  # the host may have IPv6 off; the test says
    six = listener("::", 0, socket.AF_INET6)
    attempt("v4 to dual-stack listener", lambda: socket.create_connection(("127.0.0.1", six.getsockname()[1])).getpeername()[0])
    attempt("v6 accept address", lambda: six.accept()[1][0])
    attempt("getsockname fresh v6", lambda: socket.socket(socket.AF_INET6).getsockname()[:2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", 9))
attempt("udp connect source", lambda: u.getsockname()[0])
attempt("udp peer", lambda: u.getpeername())
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.bind(("0.0.0.0", 0))
w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
w.sendto(b"to wildcard", ("127.0.0.1", v.getsockname()[1]))
attempt("udp to wildcard", lambda: v.recvfrom(100)[0])
v.setblocking(False)
attempt("udp recv empty", lambda: v.recvfrom(100))
sp = socket.socketpair()
attempt("socketpair names", lambda: (sp[0].getsockname(), sp[0].getpeername()))
attempt("socketpair peercred pid", lambda: struct.unpack("3i", sp[0].getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0] == os.getpid())
attempt("unix connect missing abstract", lambda: socket.socket(socket.AF_UNIX).connect("\0nobody-here"))
attempt("unix connect missing path", lambda: socket.socket(socket.AF_UNIX).connect("/nonexistent-dir/sock"))
attempt("unix seqpacket", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).type)
