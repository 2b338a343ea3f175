"""The sandbox's port table: which socket holds which TCP or UDP port.

Linux's rules, simplified to what programs rely on: two sockets may not
bind one port on overlapping addresses (a wildcard overlaps everything of
its family, and :: overlaps IPv4 too unless IPV6_V6ONLY) unless both set
SO_REUSEPORT, or both set SO_REUSEADDR and neither listens (for UDP: both
set SO_REUSEADDR). Port 0 picks an ephemeral port. A holder that no fd
names any more (the workload closed it) is forgotten when next noticed.
"""
from __future__ import annotations

import errno
import itertools

from runsc_py.sentry.errors import SyscallError

EPHEMERAL_FIRST, EPHEMERAL_LAST = 32768, 60999


class PortTable:
    def __init__(self, alive):
        self._alive = alive                     # alive(sock) -> bool
        self._holders: dict[tuple[str, int], list] = {}
        self._next = itertools.cycle(range(EPHEMERAL_FIRST, EPHEMERAL_LAST + 1))

    def bind(self, sock, proto: str, addr):
        """Give `sock` addr's port (an ephemeral one for port 0); sets and returns sock.local."""
        if addr.port == 0:
            for _ in range(EPHEMERAL_LAST - EPHEMERAL_FIRST + 1):
                port = next(self._next)
                if not self._conflicts(sock, proto, addr.with_port(port)):
                    return self._take(sock, proto, addr.with_port(port))
            raise SyscallError(errno.EADDRINUSE)
        if self._conflicts(sock, proto, addr):
            raise SyscallError(errno.EADDRINUSE)
        return self._take(sock, proto, addr)

    def holders(self, proto: str, port: int) -> list:
        live = [s for s in self._holders.get((proto, port), []) if self._alive(s)]
        if live:
            self._holders[(proto, port)] = live
        else:
            self._holders.pop((proto, port), None)
        return live

    def release(self, sock, proto: str, port: int) -> None:
        held = self._holders.get((proto, port), [])
        if sock in held:
            held.remove(sock)

    def all(self):
        for (proto, port) in list(self._holders):
            for sock in self.holders(proto, port):
                yield proto, sock

    def _take(self, sock, proto: str, addr):
        sock.local = addr
        self._holders.setdefault((proto, addr.port), []).append(sock)
        return addr

    def _conflicts(self, sock, proto: str, addr) -> bool:
        for other in self.holders(proto, addr.port):
            if other is sock or not overlaps(addr, other.local, other.v6only or sock.v6only):
                continue
            if sock.reuseport and other.reuseport:
                continue
            if sock.reuseaddr and other.reuseaddr and (proto == "udp" or not other.listening):
                continue
            return True
        return False


def overlaps(a, b, v6only: bool) -> bool:
    """Whether two bound addresses (same port) could both receive one connection."""
    if a.family != b.family:
        six = a if a.family == 10 else b
        four = b if six is a else a
        if six.ip.is_unspecified:
            return not v6only
        return six.ip.ipv4_mapped is not None and (six.ip.ipv4_mapped == four.ip or four.ip.is_unspecified)
    return a.ip.is_unspecified or b.ip.is_unspecified or a.ip == b.ip
