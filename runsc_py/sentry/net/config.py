"""The sandbox's network configuration: mode, interfaces, addresses, egress.

`--network=sandbox` (the default) gives interfaces lo and eth0; `none`
gives lo only; `host` hands the workload host sockets in the host's
network namespace (see docs/architecture.md for what that gives up).
"""
from __future__ import annotations

import collections
import ipaddress

from runsc_py.sentry.net.egress import EgressPolicy

MODES = ("sandbox", "host", "none")

# (No dataclasses here: `runsc-py do` builds a NetworkConfig at every start,
# and importing dataclasses cost it ~10 ms; the socket layer, loaded at a
# workload's first socket, keeps its own.)
Interface = collections.namedtuple("Interface", "index name address address6 mac mtu loopback")


class NetworkConfig:
    """The sandbox's network: its mode, addresses, egress rules and published
    ports. `containers_namespace`: --network=host in a namespace that is the
    container's own (a spec's network entry), where the sentry may make ICMP
    and, if it kept CAP_NET_RAW (`raw_sockets`), raw sockets for callers the
    sandbox allows."""

    __slots__ = ("mode", "eth0", "gateway", "nameservers", "egress", "publish",
                 "containers_namespace", "raw_sockets")

    def __init__(self, mode: str = "sandbox",
                 eth0: ipaddress.IPv4Interface = ipaddress.IPv4Interface("10.0.2.15/24"),
                 gateway: ipaddress.IPv4Address = ipaddress.IPv4Address("10.0.2.2"),
                 nameservers: list[str] | None = None, egress: EgressPolicy | None = None,
                 publish: list[tuple[int, int, str]] | None = None,
                 containers_namespace: bool = False, raw_sockets: bool = False):
        self.mode = mode
        self.eth0 = eth0
        self.gateway = gateway
        self.nameservers = [] if nameservers is None else nameservers
        self.egress = EgressPolicy() if egress is None else egress
        self.publish = [] if publish is None else publish   # (host port, sandbox port, host ip)
        self.containers_namespace = containers_namespace
        self.raw_sockets = raw_sockets

    def interfaces(self) -> list[Interface]:
        lo = Interface(1, "lo", ipaddress.IPv4Interface("127.0.0.1/8"),
                       ipaddress.IPv6Interface("::1/128"), bytes(6), 65536, True)
        if self.mode == "none":
            return [lo]
        eth0 = Interface(2, "eth0", self.eth0, None, bytes.fromhex("02420a00020f"), 1500, False)
        return [lo, eth0]

    def is_local(self, ip) -> bool:
        """Whether `ip` is one of the sandbox's own addresses (or a wildcard, which means them)."""
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            else:
                return ip.is_loopback or ip.is_unspecified
        if ip.is_loopback or ip.is_unspecified:
            return True
        return self.mode == "sandbox" and ip == self.eth0.ip


def config_from_flags(mode: str, egress: list[str], publish: list[str]) -> NetworkConfig:
    """--network, --egress and --publish (as `runsc-py do` and the OCI commands take
    them) as a NetworkConfig; ValueError says what is wrong."""
    from runsc_py.sentry.net.egress import parse_egress

    config = NetworkConfig(mode=mode)
    config.egress = parse_egress(",".join(egress))
    for spec in publish:
        parts = spec.rsplit(":", 2)
        host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
        if len(parts) < 2 or not parts[-2].isdigit() or not parts[-1].isdigit():
            raise ValueError(f"--publish wants [HOSTIP:]HOSTPORT:SANDBOXPORT, not {spec!r}")
        if config.mode != "sandbox":
            raise ValueError("--publish needs --network=sandbox")
        config.publish.append((int(parts[-2]), int(parts[-1]), host_ip))
    return config
