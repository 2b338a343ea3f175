"""The sandbox's interfaces, addresses and routes, as programs ask for them:
rtnetlink (busybox ip, glibc's if_nameindex) and SIOCGIF* ioctls."""
import shutil
import sys
import textwrap

import pytest

from tests.conftest import run, sandboxed

IOCTLS = textwrap.dedent("""
    import fcntl, socket, struct
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    def ifreq(req, name):
        return fcntl.ioctl(s, req, struct.pack("16s24x", name.encode()))
    for _, name in socket.if_nameindex():
        addr = socket.inet_ntoa(ifreq(0x8915, name)[20:24])
        mask = socket.inet_ntoa(ifreq(0x891B, name)[20:24])
        flags = struct.unpack_from("H", ifreq(0x8913, name), 16)[0]
        index = struct.unpack_from("i", ifreq(0x8933, name), 16)[0]
        print(name, index, addr, mask, bool(flags & 1))
    try:
        ifreq(0x8915, "wlan0")
    except OSError as exc:
        print("unknown", exc.errno)
    try:
        fcntl.ioctl(s, 0x8916, struct.pack("16s24x", b"eth0"))   # SIOCSIFADDR
    except OSError as exc:
        print("set", exc.errno)
""")


def test_ip_addr(platform, busybox):
    r = sandboxed(platform, busybox, "ip", "addr")
    out = r.out.decode()
    assert r.code == 0, r
    assert "1: lo: <LOOPBACK,UP,LOWER_UP>" in out and "inet 127.0.0.1/8 scope host lo" in out
    assert "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP>" in out
    assert "inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0" in out
    assert "inet6 ::1/128 scope host" in out


def test_iproute2_ip_addr(platform):
    """iproute2's `ip` sizes each netlink read with recvmsg(MSG_PEEK|MSG_TRUNC)
    and an empty buffer: it ended in "EOF on netlink" when that returned 0."""
    ip = shutil.which("ip")
    if ip is None:
        pytest.skip("iproute2 is not installed")
    for network in ("sandbox", "none"):
        r = sandboxed(platform, ip, "addr", flags=(f"--network={network}",))
        assert r.code == 0 and b"EOF on netlink" not in r.err, r
        assert b"inet 127.0.0.1/8 scope host lo" in r.out, r
        assert (b"inet 10.0.2.15/24" in r.out) == (network == "sandbox"), r


def test_ip_route(platform, busybox):
    r = sandboxed(platform, busybox, "ip", "route")
    assert r.out.decode().splitlines() == [
        "default via 10.0.2.2 dev eth0 ", "10.0.2.0/24 dev eth0 scope link  src 10.0.2.15 "], r


def test_ip_link_change_is_refused(busybox):
    r = sandboxed("seccomp", busybox, "ip", "link", "set", "eth0", "down")
    assert r.code != 0 and b"Operation not permitted" in r.err, r


def test_network_none_has_loopback_only(busybox):
    r = sandboxed("seccomp", busybox, "ip", "addr", flags=("--network=none",))
    assert "lo:" in r.out.decode() and "eth0" not in r.out.decode(), r


def test_interface_ioctls(platform):
    r = sandboxed(platform, sys.executable, "-c", IOCTLS)
    assert r.out.decode().splitlines() == [
        "lo 1 127.0.0.1 255.0.0.0 True", "eth0 2 10.0.2.15 255.255.255.0 True",
        "unknown 19", "set 1"], r


NAMESPACE_GETTERS = textwrap.dedent("""
    import array, fcntl, socket, struct
    for family in (socket.AF_INET, socket.AF_UNIX):
        s = socket.socket(family, socket.SOCK_DGRAM)
        def ifreq(req, name):
            return fcntl.ioctl(s, req, struct.pack("16s24x", name.encode()))
        for _, name in socket.if_nameindex():
            index = struct.unpack_from("i", ifreq(0x8933, name), 16)[0]
            flags = struct.unpack_from("H", ifreq(0x8913, name), 16)[0]
            mtu = struct.unpack_from("i", ifreq(0x8921, name), 16)[0]
            print(family, name, index, flags, mtu)
        buf = array.array("B", bytes(40 * 64))
        out = fcntl.ioctl(s, 0x8912, struct.pack("<i4xQ", len(buf), buf.buffer_info()[0]))
        print(family, "ifconf", [bytes(buf[i:i + 16]).rstrip(b"\\0")
                                 for i in range(0, struct.unpack_from("<i", out)[0], 40)])
""")


@pytest.mark.parametrize("platform", ["seccomp", "ptrace"])
def test_interface_getters_under_network_host_are_the_namespaces(platform):
    """--network=host: every socket's SIOCGIF* getters answer for the host's
    interfaces, a unix socket's too (it lives in the workload's empty
    namespace, so the sentry asks its own): `ip addr show eth0` needs that."""
    native = run([sys.executable, "-c", NAMESPACE_GETTERS])
    inside = sandboxed(platform, sys.executable, "-c", NAMESPACE_GETTERS,
                       flags=("--network=host",))
    assert native.code == 0 and native.out.count(b"ifconf") == 2, native
    assert (inside.code, inside.out) == (0, native.out), inside
