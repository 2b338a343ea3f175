"""The sandbox's network is the sentry's: attacks on its edges.

A sandbox listener is not a host listener; a host listener (even on the
host's loopback) is unreachable unless an egress rule allows it; host
abstract unix names are not the sandbox's; raw and packet sockets are
refused.
"""
import http.server
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from tests.conftest import RUNSC_PY, finish, sandboxed

LISTEN_AND_WAIT = textwrap.dedent("""
    import socket, sys
    s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen()
    u = socket.socket(socket.AF_UNIX); u.bind("\\0sandbox-only-name"); u.listen()
    print("ready", flush=True)
    sys.stdin.readline()
""")

URLOPEN = textwrap.dedent("""
    import sys, urllib.request
    try:
        print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=5).read().decode())
    except OSError as exc:
        print("error", getattr(exc, "reason", exc))
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_listener_is_not_on_the_host(platform):
    port = _free_port()
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", "--", sys.executable, "-c",
                                        LISTEN_AND_WAIT, str(port)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
        assert f":{port} " not in listening
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        with open("/proc/net/unix") as f:  # the host's namespace: no sandbox names, no sentry names
            names = f.read()
        assert "sandbox-only-name" not in names and "runsc-py-" not in names
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0


@pytest.fixture(scope="module")
def host_http_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"from the host")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_host_loopback_unreachable_without_egress(platform, host_http_server):
    r = sandboxed(platform, sys.executable, "-c", URLOPEN, str(host_http_server))
    assert r.out.decode().startswith("error [Errno 111]"), r


def test_egress_rule_reaches_host_server(platform, host_http_server):
    port = host_http_server
    r = sandboxed(platform, sys.executable, "-c", URLOPEN, str(port), flags=(f"--egress=127.0.0.1:{port}",))
    assert r.out.decode().strip() == "from the host", r


def test_egress_rule_for_another_port_does_not_reach(host_http_server):
    port = host_http_server
    r = sandboxed("seccomp", sys.executable, "-c", URLOPEN, str(port),
                  flags=(f"--egress=127.0.0.1:{port + 1}-{port + 5}",))
    assert r.out.decode().startswith("error [Errno 111]"), r


def test_network_none_ignores_egress(host_http_server):
    r = sandboxed("seccomp", sys.executable, "-c", URLOPEN, str(host_http_server),
                  flags=("--network=none", "--egress=0.0.0.0/0"))
    assert r.out.decode().startswith("error"), r


def test_network_host_reaches_host_server(host_http_server):
    r = sandboxed("seccomp", sys.executable, "-c", URLOPEN, str(host_http_server),
                  flags=("--network=host",))
    assert r.out.decode().strip() == "from the host", r


ATTACKS = textwrap.dedent("""
    import errno, socket
    def attempt(what, fn):
        try:
            fn(); print(what, "allowed")
        except OSError as exc:
            print(what, errno.errorcode[exc.errno])
    attempt("host abstract name", lambda: socket.socket(socket.AF_UNIX).connect("\\0runsc-py-test-host-name"))
    attempt("raw", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
    attempt("packet", lambda: socket.socket(17, socket.SOCK_RAW, 0))
    attempt("udp outside", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 53)))
    attempt("tcp outside", lambda: socket.create_connection(("192.0.2.1", 80), timeout=2))
""")


def test_attacks_on_the_network_edge(platform):
    host = socket.socket(socket.AF_UNIX)
    host.bind("\0runsc-py-test-host-name")
    host.listen()
    try:
        r = sandboxed(platform, sys.executable, "-c", ATTACKS)
    finally:
        host.close()
    assert r.out.decode().split("\n") == [
        "host abstract name ECONNREFUSED", "raw EPERM", "packet EPERM",
        "udp outside ENETUNREACH", "tcp outside ENETUNREACH", ""], r


PUBLISHED_SERVER = textwrap.dedent("""
    import socket
    s = socket.socket(); s.bind(("0.0.0.0", 8000)); s.listen()
    print("ready", flush=True)
    c, addr = s.accept()
    c.sendall(f"{addr[0]} {c.getsockname()}".encode() + c.recv(100))
    c.close()
""")


def test_publish_forwards_a_host_port(platform):
    port = _free_port()
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", f"--publish=127.0.0.1:{port}:8000",
                                        "--", sys.executable, "-c", PUBLISHED_SERVER],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b" hello")
            assert c.recv(200) == b"10.0.2.2 ('10.0.2.15', 8000) hello"
    finally:
        finish(proc)
    assert proc.returncode == 0


def test_published_port_without_sandbox_listener_is_refused():
    port = _free_port()
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--publish=127.0.0.1:{port}:8000", "--", sys.executable,
                                        "-c", "import time; print('ready', flush=True); time.sleep(3)"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            assert c.recv(10) == b""   # accepted by the host side, closed at once
    finally:
        finish(proc)


EGRESS_SOCKET_ABUSE = textwrap.dedent("""
    import errno, socket, sys
    def attempt(what, fn):
        try:
            fn(); print(what, "allowed")
        except OSError as exc:
            print(what, errno.errorcode[exc.errno])
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))   # allowed by the rule
    attempt("listen on an egress socket", lambda: s.listen())
    attempt("bind an egress socket", lambda: s.bind(("0.0.0.0", 0)))
    attempt("TCP_REPAIR", lambda: s.setsockopt(socket.IPPROTO_TCP, 19, 1))
    attempt("SO_BINDTODEVICE", lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo"))
    t = socket.socket()
    attempt("MSG_FASTOPEN elsewhere", lambda: t.sendto(b"x", socket.MSG_FASTOPEN, ("192.0.2.1", 80)))
""")


def test_an_egress_socket_cannot_become_a_host_listener(host_http_server):
    port = host_http_server
    r = sandboxed("seccomp", sys.executable, "-c", EGRESS_SOCKET_ABUSE, str(port),
                  flags=(f"--egress=127.0.0.1:{port}",))
    assert r.out.decode().split("\n") == [
        "listen on an egress socket EISCONN", "bind an egress socket EISCONN", "TCP_REPAIR EPERM",
        "SO_BINDTODEVICE EPERM", "MSG_FASTOPEN elsewhere ENOTSUP", ""], r


def test_network_host_cannot_change_the_host_network(busybox):
    """--network=host shows the host's network; it must never reconfigure it.

    The attempts are harmless if they got through (the MTU lo already has;
    deleting a route that does not exist), so a failure cannot hurt the host.
    """
    with open("/sys/class/net/lo/mtu") as f:
        mtu = f.read().strip()
    r = sandboxed("seccomp", busybox, "ip", "link", "set", "lo", "mtu", mtu, flags=("--network=host",))
    assert r.code != 0 and b"Operation not permitted" in r.err, r          # SIOCSIFMTU
    r = sandboxed("seccomp", busybox, "ip", "route", "del", "198.51.100.77/32", "dev", "lo",
                  flags=("--network=host",))
    assert r.code != 0 and b"Operation not permitted" in r.err, r          # RTM_DELROUTE
    r = sandboxed("seccomp", busybox, "ip", "link", flags=("--network=host",))
    assert r.code == 0 and b"lo:" in r.out, r                              # reads still work
