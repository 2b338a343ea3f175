"""A non-blocking TCP connect to a loopback port nobody listens on.

Linux's loopback answers the SYN with a reset before connect returns, yet
connect says EINPROGRESS; the refusal is then the socket's pending error:
poll reports it (POLLERR with POLLIN|POLLOUT|POLLHUP|POLLRDHUP), SO_ERROR,
recv, send or the next connect returns it once (that connect, without it,
ECONNABORTED, and the socket is as new), after which recv is EOF and send
EPIPE. (A blocking connect is refused at once, as semantics.py checks.)
"""
import errno
import select
import socket
import sys

ALL = select.POLLIN | select.POLLOUT | select.POLLERR | select.POLLHUP | select.POLLRDHUP
NAMES = [(select.POLLIN, "IN"), (select.POLLOUT, "OUT"), (select.POLLERR, "ERR"),
         (select.POLLHUP, "HUP"), (select.POLLRDHUP, "RDHUP")]


def en(e):
    return errno.errorcode.get(e, str(e)) if e else "0"


def call(f):
    try:
        return repr(f())
    except OSError as e:
        return en(e.errno)


def poll(s, timeout=1000):
    p = select.poll()
    p.register(s, ALL)
    got = p.poll(timeout)
    return "|".join(n for bit, n in NAMES if got and got[0][1] & bit) or "-"


def so_error(s):
    return en(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))


def scenario(name, family, host, bound, steps):
    keep = socket.socket(family)
    keep.bind((host, 0))
    port = keep.getsockname()[1]
    if not bound:
        keep.close()
    s = socket.socket(family)
    s.setblocking(False)
    addr = (host, port)
    out = ["connect=" + en(s.connect_ex(addr))]
    listener = None
    for step in steps:
        if step == "poll":
            out.append("poll=" + poll(s))
        elif step == "poll0":
            out.append("poll=" + poll(s, 0))
        elif step == "soerr":
            out.append("SO_ERROR=" + so_error(s))
        elif step == "connect":
            out.append("connect=" + en(s.connect_ex(addr)))
        elif step == "recv":
            out.append("recv=" + call(lambda: s.recv(10)))
        elif step == "send":
            out.append("send=" + call(lambda: s.send(b"x", socket.MSG_NOSIGNAL)))
        elif step == "peer":
            out.append("getpeername=" + call(s.getpeername))
        elif step == "name":
            out.append("getsockname=" + call(lambda: (s.getsockname()[0], s.getsockname()[1] > 0)))
        elif step == "select":
            r, w, x = select.select([s], [s], [s], 1)
            out.append(f"select={len(r)}{len(w)}{len(x)}")
        elif step == "shutdown":
            out.append("shutdown=" + call(lambda: s.shutdown(socket.SHUT_RDWR)))
        elif step == "listen":
            out.append("listen=" + call(lambda: s.listen(1)))
        elif step == "listener":   # someone listens there now
            if bound:
                listener = keep
            else:
                listener = socket.socket(family)
                listener.bind(addr)
            listener.listen(1)
        elif step == "blocking":   # a blocking connect to it, then a round trip
            s.setblocking(True)
            out.append("blocking connect=" + en(s.connect_ex(addr)))
            c, _ = listener.accept()
            s.sendall(b"ping")
            c.sendall(c.recv(10) + b" pong")
            out.append("got=" + call(lambda: s.recv(20)))
            c.close()
    print(name, " ".join(out))
    s.close()
    keep.close()
    if listener is not None:
        listener.close()


SCENARIOS = {
    "so_error": ["poll", "soerr", "soerr", "poll0", "recv", "send", "peer", "name", "connect",
                 "poll", "soerr"],
    "reconnect": ["poll", "connect", "soerr", "connect", "poll", "connect"],
    "at_once": ["connect", "soerr", "connect"],
    "recv_first": ["poll", "recv", "recv", "send", "soerr"],
    "send_first": ["poll", "send", "send", "soerr", "recv"],
    "select": ["select", "soerr", "shutdown", "listen"],
    "retry_taken": ["poll", "soerr", "listener", "connect", "blocking"],
    "retry_pending": ["poll", "listener", "connect", "blocking"],
}
families = [("v4", socket.AF_INET, "127.0.0.1")]
if "v6" in sys.argv[1:]:
    families.append(("v6", socket.AF_INET6, "::1"))
for label, family, host in families:
    for bound in (False, True):
        for name, steps in SCENARIOS.items():
            scenario(f"{label} {'bound' if bound else 'free'} {name}:", family, host, bound, steps)
