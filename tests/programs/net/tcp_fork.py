import socket, os, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(5)
port = s.getsockname()[1]
print("listen", s.getsockname()[0], port > 1024)
pid = os.fork()
if pid == 0:
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"hello")
    print("client got", c.recv(100), c.getpeername()[1] == port, flush=True)
    c.close()
    os._exit(0)
conn, addr = s.accept()
print("accepted", addr[0], conn.getsockname()[1] == port)
print("server got", conn.recv(100))
conn.sendall(b"world")
os.waitpid(pid, 0)
conn.close()

