"""Socket programs natively and in the sandbox: the same output on both platforms.

Every connection here is made inside the sandbox, so each run also checks
the brokering: listeners, connects, accepts and datagrams never leave the
sentry's network table (tests/integration/test_net_isolation.py attacks that).
"""
import pytest

from tests.conftest import TESTS, run, sandboxed
from tests.differential.compare import assert_same

NET = TESTS / "programs" / "net"
PROGRAMS = ["semantics", "tcp_fork", "udp", "unix_rights", "http_server", "asyncio_echo",
            "unix_creds", "ancillary", "tcp_close", "multicast", "nb_refused", "trunc",
            "rcvtimeo", "unix_unbound", "unix_raw", "unix_stream_sendto", "tcp_options",
            "unaddressed", "udp_nobody"]


def _host_has_ipv6() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


V6 = ["v6"] if _host_has_ipv6() else []   # the sandbox always has ::1; native needs the host's


@pytest.mark.parametrize("name", PROGRAMS)
def test_socket_program(platform, name):
    assert_same(platform, ["python3", str(NET / f"{name}.py"), *V6])


def test_ipv6_ancillary_data_in_the_sandbox(platform):
    """The sandbox always has ::1 (this host may not, so no native run to compare
    with): the values Linux gives on loopback, a per-packet hop limit, a traffic
    class of -1 (which Linux 6.x sends as 255, as the differential run of the
    same program shows where the host has ::1), and an odd-sized IPV6_TCLASS
    refused."""
    r = sandboxed(platform, "python3", str(NET / "ancillary.py"), "v6")
    assert r.out.decode().splitlines()[-4:] == [
        "v6 defaults: b'v6 defaults' from ::1 flags 0x0 "
        "[IPV6_PKTINFO(::1, if 1), IPV6_HOPLIMIT(64), IPV6_TCLASS(0)]",
        "v6 options: b'v6 options' from ::1 flags 0x0 "
        "[IPV6_PKTINFO(::1, if 1), IPV6_HOPLIMIT(5), IPV6_TCLASS(32)]",
        "v6 per packet: b'v6 per packet' from ::1 flags 0x0 "
        "[IPV6_PKTINFO(::1, if 1), IPV6_HOPLIMIT(2), IPV6_TCLASS(255)]",
        "odd IPV6_TCLASS: 22"], r


GROUPS_INSIDE = """
import socket, struct
def receiver(family, host, port):
    s = socket.socket(family, socket.SOCK_DGRAM); s.bind((host, port)); s.settimeout(2); return s
v6 = receiver(socket.AF_INET6, "::", 0)
port = v6.getsockname()[1]
v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
              socket.inet_pton(socket.AF_INET6, "ff02::1:3") + struct.pack("I", 0))
tx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
tx.sendto(b"v6 group", ("ff02::1:3", port))
print(v6.recvfrom(100)[0])
b = receiver(socket.AF_INET, "0.0.0.0", 0)
tx4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx4.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
tx4.sendto(b"broadcast", ("255.255.255.255", b.getsockname()[1]))
tx4.sendto(b"subnet broadcast", ("10.0.2.255", b.getsockname()[1]))
print(b.recvfrom(100)[0], b.recvfrom(100)[0])
"""


def test_groups_and_broadcast_inside_the_sandbox(platform):
    """Not compared with native: these would leave this host (its eth0). An IPv6
    group's member and a wildcard-bound socket for a broadcast (with
    SO_BROADCAST) get the datagram, as on one Linux host."""
    r = sandboxed(platform, "python3", "-c", GROUPS_INSIDE)
    assert r.out.decode().splitlines() == ["b'v6 group'", "b'broadcast' b'subnet broadcast'"], r


REFUSED_THEN_PARKED = """
import errno, os, socket, sys, time
bound = socket.socket()
bound.bind(("127.0.0.1", 0))
try:
    socket.create_connection(bound.getsockname(), timeout=5)
    print("connect to a bound, unlistened port: connected")
except OSError as exc:
    print("connect to a bound, unlistened port:", errno.errorcode.get(exc.errno, exc.errno))
bound.listen(1)
sys.stdout.flush()
ready_r, ready_w = os.pipe()
pid = os.fork()
if pid == 0:   # the server: blocks in accept, shuts its sending side at once, then reads
    os.write(ready_w, b"r")
    conn, _ = bound.accept()
    conn.shutdown(socket.SHUT_WR)
    got = b""
    while chunk := conn.recv(100):
        got += chunk
    print("server got", got, flush=True)
    os._exit(0)
os.read(ready_r, 1)
time.sleep(0.3)   # the server is (all but surely) blocked in accept by now
c = socket.create_connection(bound.getsockname(), timeout=5)
seen = [c.recv(100)]               # the server's half-close: EOF before anything was sent
c.sendall(b"sent after the EOF")   # still delivered: only one direction is closed
c.shutdown(socket.SHUT_WR)
seen.append(c.recv(100))
os.waitpid(pid, 0)
print("client read", seen)
"""


def test_refused_then_parked_accept_and_early_half_close(platform):
    """The rules the exec'd `busybox nc` pair relies on (tests/oci/test_exec.py): a
    connect to a bound port nobody listens on is refused; a connection accepted by
    another process blocked in accept, whose end shuts its sending side at once,
    still carries what the client sends after reading that EOF."""
    assert_same(platform, ["python3", "-c", REFUSED_THEN_PARKED])


def test_busybox_nc_tcp(platform, busybox, tmp_path):
    # The client reads a file, not a pipe: busybox nc exits at its peer's EOF without
    # reading a stdin that is not ready yet, and the server (stdin /dev/null) sends EOF at once.
    (tmp_path / "in").write_text("hello-tcp\n")
    script = (f"{busybox} nc -l -p 7777 & sleep 0.5; "
              f"{busybox} nc 127.0.0.1 7777 < {tmp_path}/in; wait")
    assert_same(platform, [busybox, "sh", "-c", script])


def test_busybox_httpd_wget(platform, busybox, tmp_path):
    (tmp_path / "index.html").write_text("served inside\n")
    script = (f"{busybox} httpd -f -p 127.0.0.1:8080 -h {tmp_path} & sleep 0.5; "
              f"{busybox} wget -q -O - http://127.0.0.1:8080/index.html; kill $!")
    assert_same(platform, [busybox, "sh", "-c", script])


def test_busybox_nslookup_udp(platform, busybox):
    """Debian's busybox nc has no -u; nslookup against a sandbox DNS responder is UDP both ways."""
    assert_same(platform, ["python3", str(NET / "dns_udp.py"), busybox])


def test_sendmmsg_recvmmsg(platform, program):
    assert_same(platform, [program("net_mmsg")])


def test_recvmmsg_waits_and_timeout(platform, program):
    """A blocking recvmmsg waits for each of vlen messages; the timeout is checked
    after each one arrives and what is left is written back; MSG_WAITFORONE."""
    assert_same(platform, [program("net_mmsg_timeout")])


def test_sendmmsg_blocking_stream_waits_for_room(platform, program):
    """4 x 1 MiB on a blocking TCP socket: every message whole, as Linux sends them."""
    assert_same(platform, [program("net_sendmmsg_block")])


def test_unix_path_names(platform, tmp_path):
    """Bound in a directory that exists; the sandbox's name never becomes a host file."""
    path = str(tmp_path / "sock")
    program = str(NET / "unix_path.py")
    native = run(["python3", program, path])
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    inside = sandboxed(platform, "python3", program, path)
    assert (inside.code, inside.out) == (native.code, native.out), (native, inside)
    assert list(tmp_path.iterdir()) == []


def test_getaddrinfo_uses_the_sandboxs_own_hosts_file(platform):
    """Not compared with the host: the sandbox has its own /etc/hosts (its name on
    eth0, localhost on 127.0.0.1 and ::1), whatever this host's says."""
    r = sandboxed(platform, "python3", str(NET / "getaddrinfo.py"))
    assert r.out.splitlines() == [b"[('AF_INET', '127.0.0.1'), ('AF_INET6', '::1')]", b"True"], r
    r = sandboxed(platform, "python3", "-c",
                  "import socket; print(socket.gethostbyname(socket.gethostname()))")
    assert r.out == b"10.0.2.15\n", r


def test_sandbox_has_ipv6_loopback_whatever_the_host(platform):
    """The sandbox's ::1 is the sentry's, so it exists even when the host turned IPv6 off."""
    r = sandboxed(platform, "python3", str(NET / "udp.py"), "v6")
    assert r.out.splitlines()[-1] == b"::1", r
    r = sandboxed(platform, "python3", str(NET / "semantics.py"), "v6")
    assert b"v6 accept address -> ::ffff:127.0.0.1" in r.out, r


@pytest.mark.parametrize("name", ["semantics", "tcp_fork", "unix_rights"])
def test_network_host(name):
    """--network=host: host sockets, same answers as natively (unix sockets stay the sandbox's)."""
    argv = ["python3", str(NET / f"{name}.py"), *V6]
    native = run(argv)
    inside = sandboxed("seccomp", *argv, flags=("--network=host",))
    assert (inside.code, inside.out) == (native.code, native.out), (native, inside)
