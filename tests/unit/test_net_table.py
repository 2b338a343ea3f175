"""The network table's pure parts: addresses, ports, egress rules, netlink, /proc/net, the filter's argument rule."""
import ipaddress
import socket
import struct
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runsc_py.platform.policy import (NATIVE_WHEN_ARG_ZERO, Policy, argument_rule_allows,
                                     argument_rules)
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.net import netlink, procnet, sockaddr
from runsc_py.sentry.net.config import NetworkConfig
from runsc_py.sentry.net.egress import parse_egress
from runsc_py.sentry.net.ports import PortTable
from runsc_py.sentry.net.sockaddr import InetAddress, UnixAddress
from runsc_py.sentry.net.sockets import Socket


@given(st.integers(0, 2**32 - 1), st.integers(0, 65535))
def test_sockaddr_in_round_trip(ip, port):
    addr = InetAddress(socket.AF_INET, ipaddress.IPv4Address(ip), port)
    assert sockaddr.decode(sockaddr.encode(addr), socket.AF_INET) == addr


@given(st.integers(0, 2**128 - 1), st.integers(0, 65535), st.integers(0, 2**20 - 1))
def test_sockaddr_in6_round_trip(ip, port, flow):
    addr = InetAddress(socket.AF_INET6, ipaddress.IPv6Address(ip), port, flow, 0)
    assert sockaddr.decode(sockaddr.encode(addr), socket.AF_INET6) == addr


@given(st.binary(max_size=200))
def test_sockaddr_decode_never_crashes(raw):
    for family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX, 16):
        try:
            sockaddr.decode(raw, family)
        except SyscallError:
            pass


def test_unix_addresses():
    assert sockaddr.decode(b"\x01\x00/tmp/s\x00junk", socket.AF_UNIX) == UnixAddress(b"/tmp/s")
    assert sockaddr.decode(b"\x01\x00\x00abs", socket.AF_UNIX).abstract
    assert sockaddr.encode(UnixAddress(b"")) == b"\x01\x00"


def test_egress_rules():
    policy = parse_egress("127.0.0.1:8080,10.0.0.0/8:1000-2000,[::1]:53,192.0.2.0/24")
    assert policy.allows(ipaddress.ip_address("127.0.0.1"), 8080)
    assert not policy.allows(ipaddress.ip_address("127.0.0.1"), 8081)
    assert policy.allows(ipaddress.ip_address("10.9.8.7"), 1500)
    assert not policy.allows(ipaddress.ip_address("10.9.8.7"), 999)
    assert policy.allows(ipaddress.ip_address("::1"), 53)
    assert policy.allows(ipaddress.ip_address("::ffff:192.0.2.9"), 1)
    assert not parse_egress("").allows(ipaddress.ip_address("127.0.0.1"), 80)
    with pytest.raises(ValueError):
        parse_egress("127.0.0.1:0-5")


def _sock(**kw):
    return Socket(socket.AF_INET, socket.SOCK_STREAM, 6, **kw)


def _addr(ip, port, family=socket.AF_INET):
    return InetAddress(family, ipaddress.ip_address(ip), port)


def test_port_rules():
    dead = set()
    ports = PortTable(lambda s: s not in dead)
    a = _sock()
    a.local = ports.bind(a, "tcp", _addr("127.0.0.1", 5000))
    with pytest.raises(SyscallError):
        ports.bind(_sock(), "tcp", _addr("0.0.0.0", 5000))
    ports.bind(_sock(), "tcp", _addr("127.0.0.2", 5000))     # distinct addresses
    ports.bind(_sock(), "udp", _addr("127.0.0.1", 5000))     # another protocol
    six = _sock(v6only=True)
    ports.bind(six, "tcp", _addr("::", 5000, socket.AF_INET6))  # v6only does not overlap v4
    with pytest.raises(SyscallError):
        ports.bind(_sock(), "tcp", _addr("::", 5000, socket.AF_INET6))
    dead.add(a)
    ports.bind(_sock(), "tcp", _addr("127.0.0.1", 5000))     # the holder was closed


def test_reuse_and_ephemeral():
    ports = PortTable(lambda s: True)
    a, b = _sock(reuseaddr=True), _sock(reuseaddr=True)
    a.local = ports.bind(a, "tcp", _addr("127.0.0.1", 0))
    assert 32768 <= a.local.port <= 60999
    b.local = ports.bind(b, "tcp", a.local)                  # neither listens
    a.listening = True
    with pytest.raises(SyscallError):
        ports.bind(_sock(reuseaddr=True), "tcp", a.local)
    c, d = _sock(reuseport=True), _sock(reuseport=True)
    c.local = ports.bind(c, "tcp", _addr("127.0.0.1", 6000))
    ports.bind(d, "tcp", _addr("127.0.0.1", 6000))


def _parse(datagram):
    out, pos = [], 0
    while pos < len(datagram):
        length, kind, flags, seq, pid = netlink.NLMSG.unpack_from(datagram, pos)
        out.append((kind, datagram[pos + 16:pos + length]))
        pos += (length + 3) & ~3
    return out


def _request(kind, flags=netlink.NLM_F_REQUEST | netlink.NLM_F_DUMP, body=b"\0" * 16, seq=7):
    return netlink.NLMSG.pack(16 + len(body), kind, flags, seq, 0) + body


def test_netlink_dumps():
    config = NetworkConfig()
    links = _parse(netlink.answer(_request(netlink.RTM_GETLINK), 99, config)[0])
    assert [k for k, _ in links] == [netlink.RTM_NEWLINK, netlink.RTM_NEWLINK, netlink.NLMSG_DONE]
    addrs = _parse(netlink.answer(_request(netlink.RTM_GETADDR), 99, config)[0])
    v4 = [ipaddress.IPv4Address(netlink._attr(body[8:], netlink.IFA_ADDRESS)) for k, body in addrs
          if k == netlink.RTM_NEWADDR and body[0] == socket.AF_INET]
    assert v4 == [ipaddress.IPv4Address("127.0.0.1"), config.eth0.ip]
    none = NetworkConfig(mode="none")
    assert len(_parse(netlink.answer(_request(netlink.RTM_GETLINK), 1, none)[0])) == 2


def test_netlink_refuses_changes():
    reply = _parse(netlink.answer(_request(netlink.RTM_NEWLINK - 0 + 4, flags=5), 1, NetworkConfig())[0])
    assert reply[0][0] == netlink.NLMSG_ERROR
    assert struct.unpack_from("<i", reply[0][1])[0] == -1  # EPERM


@given(st.binary(max_size=300))
def test_netlink_never_crashes(raw):
    netlink.answer(raw, 1, NetworkConfig())


def test_proc_net_tcp_listener():
    s = _sock(local=_addr("127.0.0.1", 8080), listening=True)
    table = procnet.inet_table([(s, 4242, 0)], "tcp", False).decode().splitlines()
    assert table[1].split()[1:4] == ["0100007F:1F90", "00000000:0000", "0A"]
    assert "4242" in table[1].split()


def test_argument_rule_program():
    """Interpret the prepended BPF: only sendto/recvfrom with a zero address argument pass."""
    prog = argument_rules(sorted(NATIVE_WHEN_ARG_ZERO.items()))
    insns = [struct.unpack_from("<HBBI", prog, i) for i in range(0, len(prog), 8)]

    def run(nr, args, arch=0xC000003E):
        data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
        pc, acc = 0, 0
        while pc < len(insns):
            code, jt, jf, k = insns[pc]
            if code == 0x20:
                acc = struct.unpack_from("<I", data, k)[0]
            elif code == 0x15:
                pc += jt if acc == k else jf
            elif code == 0x05:
                pc += k
            elif code == 0x06:
                return "allow"
            pc += 1
        return "filter"   # fell through to libseccomp's program

    assert run(44, [3, 0, 10, 0, 0, 0]) == "allow"
    assert run(45, [3, 0, 10, 0, 0, 0]) == "allow"
    assert run(44, [3, 0, 10, 0, 0x1000, 16]) == "filter"
    assert run(44, [3, 0, 10, 0, 1 << 40, 16]) == "filter"   # a high half counts
    assert run(46, [3, 0, 0, 0, 0, 0]) == "filter"
    assert run(44, [3, 0, 10, 0, 0, 0], arch=0x40000003) == "filter"
    assert Policy.TRAP  # the rule applies only to trapped rows (build_filter checks)
    # the sentry's own reading of the rules (a signal ending a call the host ran
    # leaves its EINTR alone: interposer.py) says what the program does
    for nr in (44, 45, 46, 302):
        for args in ([3, 0, 10, 0, 0, 0], [3, 0, 10, 0, 0x1000, 16], [3, 0, 10, 0, 1 << 40, 0],
                     [0, 3, 0, 0x1000, 0, 0], [0, 4, 0, 0x1000, 0, 0], [0, 6, 0, 0, 0, 0],
                     [0, 3, 0x1000, 0, 0, 0]):
            assert argument_rule_allows(nr, args) == (run(nr, args) == "allow"), (nr, args)


def _network(mode="sandbox"):
    from runsc_py.sentry.fdtable import FdTable
    from runsc_py.sentry.net import Network
    from runsc_py.sentry.net.sockets import SocketFile

    fds = FdTable()
    proc = types.SimpleNamespace(fds=fds, creds=types.SimpleNamespace(euid=0), vpid=1)
    kernel = types.SimpleNamespace(vfs=None, platform=None, hostname="box",
                                   tasks=types.SimpleNamespace(by_host_tid={1: types.SimpleNamespace(process=proc)}))
    network = Network(kernel, NetworkConfig(mode=mode))
    listener = _sock(local=_addr("0.0.0.0", 80), listening=True)
    unix = Socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, local=UnixAddress(b"\0bus"), listening=True)
    fds.install(3, SocketFile("socket", path="socket:[111]", sock=listener))
    fds.install(4, SocketFile("socket", path="socket:[222]", sock=unix))
    return network


def test_proc_net_from_the_table():
    network = _network()
    tcp = network.proc_net("tcp").decode().splitlines()
    assert len(tcp) == 2 and tcp[1].split()[1] == "00000000:0050" and "111" in tcp[1].split()
    unix = network.proc_net("unix").decode().splitlines()
    assert unix[1].split()[-1] == "@bus" and unix[1].split()[3] == "00010000"
    assert b"eth0:" in network.proc_net("dev") and b"lo:" in network.proc_net("dev")
    assert network.proc_net("route").decode().splitlines()[1].split()[:3] == ["eth0", "00000000", "0202000A"]
    assert network.proc_net("if_inet6").split()[0] == b"0" * 31 + b"1"
    assert network.proc_net("udp").count(b"\n") == 1
    with pytest.raises(SyscallError):
        network.proc_net("nf_conntrack")


def test_etc_files():
    network = _network()
    assert b"10.0.2.15\tbox" in network.etc_hosts() and b"127.0.0.1\tlocalhost" in network.etc_hosts()
    assert network.etc_hostname() == b"box\n"
    assert b"nameserver" not in network.etc_resolv_conf()
    assert b"10.0.2.15" not in _network("none").etc_hosts()


def test_host_relay_refuses_changes_without_asking_the_host():
    for kind in (netlink.RTM_NEWLINK, netlink.RTM_NEWLINK + 1, netlink.RTM_NEWADDR,
                 netlink.RTM_NEWROUTE, netlink.RTM_NEWROUTE + 1):
        reply = _parse(netlink.relay_reads(_request(kind, flags=5), 77)[0])
        assert reply[0][0] == netlink.NLMSG_ERROR and struct.unpack_from("<i", reply[0][1])[0] == -1


def test_host_relay_reads_are_readdressed():
    chunks = netlink.relay_reads(_request(netlink.RTM_GETLINK), 77)
    assert chunks and all(netlink.NLMSG.unpack_from(c, 0)[4] == 77 for c in chunks)
