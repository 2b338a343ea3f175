"""A socket as the sentry knows it: what the workload's socket calls see.

The bytes of an established connection never pass through the sentry:
the guest fd is a host socket (a socketpair end or a connected AF_UNIX
socket for sandbox connections, a real TCP socket for egress). What the
host socket cannot tell the workload — its sandbox address, its peer's,
its options, its peer's virtual credentials — lives here.
"""
from __future__ import annotations

import collections
import dataclasses
import socket

from runsc_py.sentry.fdtable import OpenFile

@dataclasses.dataclass
class Credentials:
    """SO_PEERCRED's struct ucred, in the sandbox's ids."""

    pid: int = 0
    uid: int = 0xFFFFFFFF
    gid: int = 0xFFFFFFFF


@dataclasses.dataclass
class PendingConnection:
    """A connection the sentry made to a listener that has not accepted it yet."""

    local: object         # the address the client connected to
    peer: object          # the client's address
    creds: Credentials    # the client's
    substitute: int | None = None   # a published host connection to hand out instead
    client: object = None           # the connecting Socket (the accepted one's partner)


@dataclasses.dataclass(eq=False)
class Socket:
    family: int
    type: int             # SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
    protocol: int
    backing: str = "sandbox"   # or "host": a host socket whose control calls run natively;
                               # or "relay": the sentry's stand-in for an outside UDP address
    local: object = None
    peer: object = None
    listening: bool = False
    host_name: bytes | None = None   # the abstract name the sentry bound the host socket to
    reuseaddr: bool = False
    reuseport: bool = False
    v6only: bool = False
    error: int = 0
    creds: Credentials | None = None       # the owner's, at listen or connect
    peer_creds: Credentials | None = None
    options: dict = dataclasses.field(default_factory=dict)
    pending: collections.deque = dataclasses.field(default_factory=collections.deque)
    netlink: object = None   # for AF_NETLINK: the sentry's end of the pair
    egress: dict = dataclasses.field(default_factory=dict)   # UDP egress: family -> host socket
    groups: set = dataclasses.field(default_factory=set)     # multicast groups joined (ip_address)
    partner: object = None       # a sandbox TCP connection's other end (a Socket)
    partner_closed: bool = False   # ... whose last fd the workload has closed
    connecting: bool = False     # a non-blocking connect said EINPROGRESS; the next says 0
    redescribed: bool = False    # the fd got a new host socket since the workload last saw it
    refused: bool = False   # a non-blocking connect was refused: the fd is a reset TCP socket

    @property
    def inet(self) -> bool:
        return self.family in (socket.AF_INET, socket.AF_INET6)

    @property
    def proto_name(self) -> str:
        return "tcp" if self.type == socket.SOCK_STREAM else "udp"

    @property
    def stream(self) -> bool:
        return self.type in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET)


class SocketFile(OpenFile):
    """An open socket: an OpenFile whose kind is "socket", with its Socket."""

    __slots__ = ("sock",)

    def __init__(self, kind: str, path: str = "", flags: int = 0, sock: Socket | None = None,
                 **rest):
        super().__init__(kind, path, flags, **rest)
        self.sock = sock
