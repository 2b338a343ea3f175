"""Where an inet datagram socket connected to an address nobody has sends.

A sandbox datagram socket is a host AF_UNIX one (hostsock.py), connected
by the sentry to the host name of the socket that has the address it was
connected to, so `send` (no address: native, in the filter) goes there
directly. Linux lets a UDP socket connect to a port nobody has, or to a
multicast group or broadcast address, and send: the datagram leaves, and
is lost or reaches whoever has the port by then. Left unconnected on the
host, such a socket's native `send` failed with ENOTCONN (a metrics
client sending to an agent that is not up yet died of it).

So it is connected to the sink: one socket of the sentry's in the
sandbox's namespace, drained from the loop. A datagram that arrives there
is sent on from its sender's own host socket (the receiver is told the
sender's address) to whoever has its address now, or to the group's
members; a unicast sender is connected to its receiver from then on. With
nobody there it is lost, as on Linux, where loopback would also answer
with a port-unreachable that a later call reports as ECONNREFUSED: that
is not done (docs/compatibility.md).
"""
from __future__ import annotations

import socket

MAX_DATAGRAM = 65536


class DatagramSink:
    def __init__(self, network):
        self.network = network
        self.sock: socket.socket | None = None
        self.name: bytes | None = None

    def address(self) -> bytes:
        """The sink's host name (made, and watched by the loop, at the first use)."""
        if self.sock is None:
            host = self.network.host
            sock = socket.socket(fileno=host.sandbox_socket(socket.SOCK_DGRAM))
            sock.setblocking(False)
            name = host.unique_name("sink")
            sock.bind(name)
            self.sock, self.name = sock, name
            self.network.kernel.platform.watch(sock.fileno(), self._drain)
        return self.name

    def _drain(self, _events: int) -> None:
        while True:
            try:
                data, sender = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.network.arrived_at_sink(data, sender)
