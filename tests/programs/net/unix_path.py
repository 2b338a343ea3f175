"""Path-named unix sockets: stream and datagram, relative names, EADDRINUSE (prints results)."""
import errno
import os
import socket
import sys

path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen()
print("name", srv.getsockname() == path)
try:
    socket.socket(socket.AF_UNIX).bind(path)
except OSError as exc:
    print("second bind", errno.errorcode[exc.errno])
c = socket.socket(socket.AF_UNIX)
os.chdir(os.path.dirname(path))
c.connect(os.path.basename(path))            # relative to the cwd
s, addr = srv.accept()
c.sendall(b"over a path")
print(s.recv(100), repr(addr), c.getpeername() == path)
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d.bind(path + ".d")
e = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
e.bind(path + ".e")
e.sendto(b"dgram", path + ".d")
data, src = d.recvfrom(100)
print(data, src == path + ".e")
try:
    socket.socket(socket.AF_UNIX).connect(path + ".missing")
except OSError as exc:
    print("missing", errno.errorcode[exc.errno])
