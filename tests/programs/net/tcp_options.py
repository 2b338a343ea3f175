"""TCP options and a non-blocking connect on loopback, as Linux answers them.

TCP_INFO's state, TCP_CONGESTION (the host's default and its algorithms;
an unknown one is ENOENT), TCP_WINDOW_CLAMP, TCP_LINGER2, SO_ATTACH_FILTER's
length check and SO_DETACH_FILTER, and a non-blocking connect: EINPROGRESS,
then writable with SO_ERROR 0, then 0 once and EISCONN after (Linux's
SS_CONNECTING -> SS_CONNECTED; a shutdown makes it so too). Printed line by line; natively and
sandboxed the output must match.
"""
import errno
import select
import socket
import struct


def show(label, fn):
    try:
        out = fn()
    except OSError as exc:
        out = errno.errorcode.get(exc.errno, exc.errno)
    print(f"{label}: {out}")


def main():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    fresh = socket.socket()
    for name, sock in (("listener", listener), ("client", client), ("fresh", fresh)):
        show(f"TCP_INFO state of the {name}",
             lambda s=sock: s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[0])
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
        default = f.read().strip().encode()
    show("TCP_CONGESTION is the host's default", lambda: client.getsockopt(
        socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0") == default)
    show("set TCP_CONGESTION reno", lambda: client.setsockopt(
        socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"reno"))
    show("get TCP_CONGESTION", lambda: client.getsockopt(
        socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0"))
    show("set TCP_CONGESTION nonesuch", lambda: client.setsockopt(
        socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"nonesuch"))
    show("set TCP_WINDOW_CLAMP", lambda: client.setsockopt(socket.IPPROTO_TCP, 10, 20000))
    show("get TCP_LINGER2", lambda: fresh.getsockopt(socket.IPPROTO_TCP, 8))
    show("set TCP_LINGER2", lambda: client.setsockopt(socket.IPPROTO_TCP, 8, 30))
    show("get TCP_LINGER2 after", lambda: client.getsockopt(socket.IPPROTO_TCP, 8))
    show("SO_DETACH_FILTER with none", lambda: client.setsockopt(socket.SOL_SOCKET, 27, 0))
    show("SO_ATTACH_FILTER of no instructions", lambda: client.setsockopt(
        socket.SOL_SOCKET, 26, struct.pack("HxxxxxxQ", 0, 0)))
    show("SO_ATTACH_FILTER of too many", lambda: client.setsockopt(
        socket.SOL_SOCKET, 26, struct.pack("HxxxxxxQ", 5000, 0)))
    nb = socket.socket()
    nb.setblocking(False)
    show("non-blocking connect", lambda: nb.connect(listener.getsockname()))
    show("writable", lambda: select.select([], [nb], [], 10)[1] == [nb])
    show("SO_ERROR", lambda: nb.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    show("connect again", lambda: nb.connect(listener.getsockname()))
    show("and again", lambda: nb.connect(listener.getsockname()))
    nb2 = socket.socket()
    nb2.setblocking(False)
    show("another non-blocking connect", lambda: nb2.connect(listener.getsockname()))
    nb2.shutdown(socket.SHUT_WR)   # (Linux's inet_shutdown: connected from now on)
    show("connect after shutdown", lambda: nb2.connect(listener.getsockname()))
    accepted, _ = listener.accept()
    nb.send(b"x")
    show("the accepted end reads", lambda: accepted.recv(1))
    show("after a refusal, an epoll waiter sees the connection", refused_then_epoll)


def refused_then_epoll():
    """asyncio's pattern (test_sock_client_connect_racing): an fd registered
    for EPOLLOUT while its connect was refused, then connected: a connect
    that says EINPROGRESS must end in that epoll's EPOLLOUT."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    sock = socket.socket()
    sock.setblocking(False)
    sock.connect_ex(listener.getsockname())           # EINPROGRESS: nobody listens
    ep = select.epoll()
    ep.register(sock.fileno(), select.EPOLLOUT)
    ep.poll(5)                                        # the refusal arrives
    listener.listen(1)
    if sock.connect_ex(listener.getsockname()) != errno.ECONNREFUSED:
        return "not refused"
    rc = sock.connect_ex(listener.getsockname())
    if rc == errno.EINPROGRESS:
        return any(events & select.EPOLLOUT for _, events in ep.poll(5)) \
            and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    return rc == 0


if __name__ == "__main__":
    main()
