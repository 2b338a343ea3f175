"""The egress policy: which outside addresses the sandbox may connect to.

Rules come from `--egress=CIDR[:PORT[-PORT]],...`; with none, nothing
outside the sandbox is reachable (default deny). A rule for 127.0.0.1 lets
the sandbox reach a host listener on the host's loopback when no sandbox
listener has that port.
"""
from __future__ import annotations

import collections
import ipaddress


class EgressRule(collections.namedtuple("EgressRule", "network first_port last_port",
                                        defaults=(1, 65535))):
    """One CIDR and port range (no dataclasses: see net/config.py)."""

    __slots__ = ()

    def allows(self, ip, port: int) -> bool:
        return ip.version == self.network.version and ip in self.network \
            and self.first_port <= port <= self.last_port


class EgressPolicy:
    __slots__ = ("rules",)

    def __init__(self, rules: list[EgressRule] | None = None):
        self.rules = [] if rules is None else rules

    def allows(self, ip, port: int) -> bool:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(rule.allows(ip, port) for rule in self.rules)


def parse_egress(spec: str) -> EgressPolicy:
    """`CIDR[:PORT[-PORT]],...`; an IPv6 CIDR with a port is written [CIDR]:PORT."""
    rules = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        ports = ""
        if item.startswith("["):
            cidr, _, rest = item[1:].partition("]")
            ports = rest[1:] if rest.startswith(":") else ""
        elif item.count(":") == 1:
            cidr, ports = item.split(":")
        else:
            cidr = item
        network = ipaddress.ip_network(cidr, strict=False)
        first, last = 1, 65535
        if ports:
            lo, _, hi = ports.partition("-")
            first, last = int(lo), int(hi or lo)
            if not 0 < first <= last <= 65535:
                raise ValueError(f"bad port range in egress rule {item!r}")
        rules.append(EgressRule(network, first, last))
    return EgressPolicy(rules)
