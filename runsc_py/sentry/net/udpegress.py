"""UDP egress: datagrams between sandbox UDP sockets and allowed outside addresses.

The workload never holds a host UDP socket (a native sendto or sendmsg
naming an address would reach any host). Instead, for each outside
address an egress rule allows, the sentry keeps a *relay*: an AF_UNIX
datagram socket in the sandbox's namespace bound to a sentry name, which
the network table treats as the sandbox socket that address has. A
sandbox socket sends to it as to any sandbox socket (by the sentry for an
addressed send, natively once `connect`ed to it); the sentry reads the
relay, finds the sender by its name and sends the datagram on from a host
UDP socket of the sender's own (made in the host's namespace on first
use, bound by the host to an ephemeral port). Replies arriving on that
host socket from an address the rules allow are sent to the sender from
the relay of their source address, so `recvfrom`/`recvmsg` report that
address, and a plain `recv` (native) gets the bytes. Datagrams from
addresses no rule allows are dropped, as a stateful firewall would.

Owns: the relays (by family and outside address) and each sandbox
socket's host UDP sockets (`Socket.egress`). Everything runs on the
sentry's loop; nothing here blocks.
"""
from __future__ import annotations

import collections
import select
import socket

from runsc_py.sentry.net import sockaddr
from runsc_py.sentry.net.sockaddr import InetAddress
from runsc_py.sentry.net.sockets import Socket
from runsc_py.sentry.net.stack import _as_family

MAX_RELAYS = 1024      # outside addresses with a relay; the oldest goes first
MAX_DATAGRAM = 65536
PRUNE_EVERY = 64       # check which senders are gone every this many new host sockets


class Relay:
    def __init__(self, sock: Socket, end: socket.socket):
        self.sock = sock   # stands for the outside address in the network table
        self.end = end     # the sentry's AF_UNIX end, bound to sock.host_name


class UdpEgress:
    def __init__(self, network):
        self.network = network
        self.relays: collections.OrderedDict[tuple, Relay] = collections.OrderedDict()
        self._outs: dict[int, tuple] = {}   # host socket's fd -> (sandbox socket, host socket)
        self._made = 0

    def relay_for(self, family: int, dest: InetAddress) -> Socket:
        """The network-table socket standing for `dest` (an allowed outside address)
        as sockets of `family` see it; made on first use."""
        return self._relay(family, dest).sock

    def _relay(self, family: int, dest: InetAddress) -> Relay:
        key = (family, dest.ip, dest.port)
        relay = self.relays.get(key)
        if relay is not None:
            self.relays.move_to_end(key)
            return relay
        if len(self.relays) >= MAX_RELAYS:
            _key, oldest = self.relays.popitem(last=False)
            self._forget_relay(oldest)
        net = self.network
        end = socket.socket(fileno=net.host.sandbox_socket(socket.SOCK_DGRAM))
        name = net.host.unique_name("e")
        end.bind(name)
        end.setblocking(False)
        sock = Socket(family, socket.SOCK_DGRAM, 17, backing="relay", local=dest, host_name=name)
        relay = Relay(sock, end)
        self.relays[key] = relay
        net.by_host_name[name] = sock
        net.waits.park(end, select.EPOLLIN, lambda: self._outbound(relay, dest))
        return relay

    def relay_sockets(self):
        return [relay.sock for relay in self.relays.values()]

    def _forget_relay(self, relay: Relay) -> None:
        self.network.by_host_name.pop(relay.sock.host_name, None)
        self.network.waits.cancel(relay.end)

    # -- sandbox -> outside ----------------------------------------------------

    def _outbound(self, relay: Relay, dest: InetAddress) -> bool:
        """The relay is readable: send each datagram on from its sender's host socket."""
        while True:
            try:
                data, source = relay.end.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return False
            except OSError:
                return False
            sender = self.network.by_host_name.get(source if isinstance(source, bytes)
                                                   else (source or "").encode("latin-1"))
            if sender is None or not sender.inet or sender.backing != "sandbox":
                continue   # not a sandbox socket the sentry named: dropped
            out = self._host_socket(sender, dest)
            try:
                out.sendto(data, sockaddr.to_host(_plain(dest)))
            except OSError:
                pass       # the host's queue is full or the address refuses: lost, as UDP's are

    def _host_socket(self, sender: Socket, dest: InetAddress) -> socket.socket:
        family = socket.AF_INET if _plain(dest).family == socket.AF_INET else socket.AF_INET6
        out = sender.egress.get(family)
        if out is not None:
            return out
        self._made += 1
        if self._made % PRUNE_EVERY == 0:
            self._prune()
        out = socket.socket(fileno=self.network.host.host_socket(family, socket.SOCK_DGRAM, 0))
        out.setblocking(False)
        sender.egress[family] = out
        self._outs[out.fileno()] = (sender, out)
        self.network.waits.park(out, select.EPOLLIN, lambda: self._inbound(sender, out))
        return out

    # -- outside -> sandbox ------------------------------------------------------

    def _inbound(self, sender: Socket, out: socket.socket) -> bool:
        """A reply on a sender's host socket: deliver it from its source's relay."""
        policy = self.network.config.egress
        while True:
            try:
                data, host_source = out.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return False
            except OSError:
                return False
            source = sockaddr.from_host(out.family, host_source)
            if not policy.allows(source.ip, source.port):
                continue
            relay = self._relay(sender.family, _as_family(source, sender.family))
            try:
                relay.end.sendto(data, sender.host_name)
            except OSError:
                pass       # the sandbox socket's queue is full, or it is gone: dropped

    def _prune(self) -> None:
        """Close the host sockets of sandbox sockets no fd refers to any more."""
        live = {id(sock): sock for sock, _inode, _uid in self.network.socket_inodes()}
        for key, (sender, out) in list(self._outs.items()):
            if live.get(id(sender)) is not sender:
                del self._outs[key]
                sender.egress.clear()
                self.network.waits.cancel(out)


def _plain(addr: InetAddress) -> InetAddress:
    """A v4-mapped IPv6 address as the IPv4 one the host socket sends to."""
    if addr.family == socket.AF_INET6 and addr.ip.ipv4_mapped is not None:
        return InetAddress(socket.AF_INET, addr.ip.ipv4_mapped, addr.port)
    return addr

