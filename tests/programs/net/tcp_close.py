"""Writing to a TCP connection whose peer closed: Linux accepts the first send
(the peer answers it with a reset), the next fails with EPIPE (SIGPIPE when
not ignored); a zero-length send succeeds; reads see EOF. A peer that closes
with unread data resets at once: ECONNRESET on the next read, then EPIPE."""
import ctypes
import os
import signal
import socket
import struct
import time


def attempt(what, fn):
    try:
        print(what, repr(fn()), flush=True)
    except OSError as exc:
        print(what, type(exc).__name__, exc.errno, flush=True)


def pair():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    return client, server


def settle():
    time.sleep(0.3)


# the peer closed, nothing unread
client, server = pair()
client.close()
settle()
attempt("recv", lambda: server.recv(10))
attempt("send empty", lambda: server.send(b""))
attempt("first send", lambda: server.send(b"x"))
settle()
attempt("second send", lambda: server.send(b"y"))
attempt("third send", lambda: server.send(b"z"))
attempt("recv after", lambda: server.recv(10))
server.close()

# the same when the peer's fd goes by close_range
client, server = pair()
fd = client.detach()
ctypes.CDLL(None, use_errno=True).syscall(436, fd, fd, 0)   # close_range(fd, fd, 0)
settle()
attempt("close_range: first send", lambda: server.send(b"x"))
settle()
attempt("close_range: second send", lambda: server.send(b"y"))
server.close()

# the peer closed with data it never read
client, server = pair()
client.sendall(b"unread")
settle()
server.close()
settle()
attempt("reset recv", lambda: client.recv(10))
attempt("reset send", lambda: client.send(b"x"))
client.close()

# an abortive close (SO_LINGER {1, 0}): the peer is reset at once, and no longer connected
client, server = pair()
server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
server.close()
settle()
attempt("abort recv", lambda: client.recv(10))
attempt("abort recv again", lambda: client.recv(10))
attempt("abort getpeername", lambda: client.getpeername())
attempt("abort send", lambda: client.send(b"x"))
client.close()

# a peer that keeps sending to a closed end fails before long (each send is refused after the reset)
client, server = pair()
client.sendall(b"x" * 1024)
server.recv(1024)
server.close()
failed = None
for _ in range(1000):   # 16 MiB at most
    try:
        client.send(b"y" * 16384)
    except OSError as exc:
        failed = type(exc).__name__
        break
print("keeps sending: refused with", failed, flush=True)
client.close()

# a blocked reader sees the peer's close as EOF
client, server = pair()
pid = os.fork()
if pid == 0:
    time.sleep(0.3)
    client.close()
    os._exit(0)
client.close()
attempt("blocked recv", lambda: server.recv(10))
os.waitpid(pid, 0)
server.close()

# SIGPIPE with its default action: the second send kills the writer
client, server = pair()
client.close()
settle()
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    server.send(b"x")
    print("first send made", flush=True)
    time.sleep(0.3)
    server.send(b"y")
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("writer", "killed by signal" if os.WIFSIGNALED(status) else "exited",
      os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
server.close()
