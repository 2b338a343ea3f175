"""The contents of /etc/hosts, /etc/resolv.conf and /etc/hostname for the sandbox.

The lead mounts these in the VFS; they follow the network configuration:
the sandbox's host name on its eth0 address, and a name server only when
one is configured (UDP egress is not offered, so by default there is none).
With --network=host the host's resolv.conf is the sandbox's too.
"""
from __future__ import annotations


def hosts(config, hostname: str) -> bytes:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    if config.mode == "sandbox":
        lines.append(f"{config.eth0.ip}\t{hostname}")
    else:
        lines.append(f"127.0.1.1\t{hostname}")
    return ("\n".join(lines) + "\n").encode()


def resolv_conf(config) -> bytes:
    if config.mode == "host":
        try:
            with open("/etc/resolv.conf", "rb") as f:
                return f.read()
        except OSError:
            return b""
    if not config.nameservers:
        return b"# no name server: the sandbox resolves only /etc/hosts\n"
    return "".join(f"nameserver {ns}\n" for ns in config.nameservers).encode()


def hostname(name: str) -> bytes:
    return (name + "\n").encode()
