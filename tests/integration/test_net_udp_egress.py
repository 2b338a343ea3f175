"""UDP egress: a sandbox UDP socket reaches a host UDP server only by an egress rule.

The server is a host UDP echo on 127.0.0.1 that records what it received.
Allowed: addressed sends, a connected socket's native send/recv and a
v4-mapped address on an IPv6 socket all get their replies, reported from
the server's address. Denied (no rule, a rule for other ports,
--network=none): the server receives nothing. A datagram from a host
address no rule allows is not delivered into the sandbox, even to the
port the sentry's host socket uses.
"""
import socket
import sys
import textwrap
import threading

import pytest

from tests.conftest import sandboxed

CLIENT = textwrap.dedent("""
    import errno, socket, sys
    port = int(sys.argv[1])
    def attempt(what, fn):
        try:
            print(what, fn())
        except OSError as exc:
            print(what, "error", errno.errorcode.get(exc.errno, exc))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    attempt("sendto", lambda: (s.sendto(b"one", ("127.0.0.1", port)), s.recvfrom(100)))
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(3)
    c.connect(("127.0.0.1", port))
    attempt("connected", lambda: (c.send(b"two"), c.recv(100), c.getpeername()))
    m = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); m.settimeout(3)
    attempt("v4-mapped", lambda: (m.sendto(b"three", ("::ffff:127.0.0.1", port)), m.recvfrom(100)[0]))
    attempt("intruder", lambda: (s.sendto(b"intrude", ("127.0.0.1", port)), s.recv(100), s.recv(100)))
""")


class EchoServer:
    """Echoes each datagram; for "intrude" it first has another host socket (a port
    no rule allows) send to the client, then echoes."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(65536)
            except OSError:
                return
            self.received.append(data)
            if data == b"intrude":
                self.intruder.sendto(b"from the intruder", addr)
            self.sock.sendto(b"echo:" + data, addr)

    def close(self):
        self.sock.close()
        self.intruder.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


ALLOWED = [
    "sendto (3, (b'echo:one', ('127.0.0.1', {port})))",
    "connected (3, b'echo:two', ('127.0.0.1', {port}))",
    "v4-mapped (5, b'echo:three')",
    "intruder (7, b'echo:intrude', 'error timeout')",
]


def _lines(r):
    # socket.timeout's str is "timed out"; the lambda's tuple never prints when one raises
    return r.out.decode().replace("error timed out", "error timeout").splitlines()


def test_egress_rule_allows_udp_to_a_host_server(platform, echo):
    r = sandboxed(platform, sys.executable, "-c", CLIENT, str(echo.port),
                  flags=(f"--egress=127.0.0.1:{echo.port}",))
    lines = _lines(r)
    assert lines[:3] == [line.format(port=echo.port) for line in ALLOWED[:3]], r
    # the intruder's datagram (from a port no rule allows) never arrives: the echo
    # does, then the second recv times out
    assert lines[3] == "intruder error timeout", r
    assert echo.received == [b"one", b"two", b"three", b"intrude"]


@pytest.mark.parametrize("flags", [(), ("--egress=127.0.0.1:1-2",), ("--egress=10.0.0.0/8",),
                                   ("--network=none", "--egress=127.0.0.1")],
                         ids=["no-rule", "other-ports", "other-network", "network-none"])
def test_udp_without_a_rule_never_reaches_the_host(echo, flags):
    r = sandboxed("seccomp", sys.executable, "-c", CLIENT, str(echo.port), flags=flags)
    lines = _lines(r)
    # 127.0.0.1 is the sandbox's own loopback, where nobody has the port: the
    # datagrams are lost (a connected socket's send says ENOTCONN, where Linux
    # would accept it and report ECONNREFUSED later: docs/compatibility.md)
    assert lines[0] == "sendto error timeout" and lines[2:] == [
        "v4-mapped error timeout", "intruder error timeout"], r
    assert lines[1] in ("connected error timeout", "connected error ENOTCONN"), r
    assert echo.received == []


def test_network_host_udp_reaches_the_host(echo):
    r = sandboxed("seccomp", sys.executable, "-c", CLIENT, str(echo.port), flags=("--network=host",))
    lines = _lines(r)
    assert lines[:3] == [line.format(port=echo.port) for line in ALLOWED[:3]], r
    assert lines[3] == "intruder (7, b'from the intruder', b'echo:intrude')", r
