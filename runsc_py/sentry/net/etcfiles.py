"""The contents of /etc/hosts, /etc/resolv.conf and /etc/hostname for the sandbox.

`runsc-py do` writes them into the sandbox's root (the overlay's upper
layer: the host's files stay as they are); a container's engine binds its
own, as runc expects. They follow the network configuration:
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


def provide(kernel, config) -> None:
    """Write the three files into the sandbox's root, as root would: ordinary
    files of the overlay's upper layer, which the workload may change."""
    import os

    from runsc_py.sentry import files
    from runsc_py.sentry.credentials import Credentials

    root = Credentials()
    for path, data in (("/etc/hosts", hosts(config, kernel.hostname)),
                       ("/etc/resolv.conf", resolv_conf(config)),
                       ("/etc/hostname", hostname(kernel.hostname))):
        _file, fd = files.open_path(kernel.vfs, root, 0o022, "/", path,
                                    os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
