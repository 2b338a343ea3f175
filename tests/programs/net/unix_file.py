"""unix_file.py DIR: a unix socket bound to a path is a socket file, as on Linux."""
import errno
import os
import socket
import stat
import sys

top = sys.argv[1]
os.chdir(top)
os.umask(0o022)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind("sock")
server.listen(1)
st = os.lstat("sock")
print("file", stat.S_ISSOCK(st.st_mode), oct(st.st_mode & 0o777), sorted(os.listdir(".")))
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.connect(os.path.join(top, "sock"))
conn, _ = server.accept()
client.sendall(b"over a path")
print("got", conn.recv(64))
other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    other.bind("sock")
except OSError as exc:
    print("bind again:", errno.errorcode[exc.errno])
os.symlink("sock", "link")
via_link = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
via_link.connect("link")
print("through a symlink: connected")
open("plain", "w").close()
for name in ("plain", "missing"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(name)
    except OSError as exc:
        print("connect", name, errno.errorcode[exc.errno])
os.unlink("sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("sock")
except OSError as exc:
    print("after unlink:", errno.errorcode[exc.errno])
