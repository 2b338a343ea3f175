"""The sandbox's network: the sentry's network table (issue 6).

One module per concern:
    config      mode (sandbox/host/none), interfaces, addresses
    egress      --egress rules (default deny)
    sockaddr    struct sockaddr_* both ways
    sockets     a socket as the sentry knows it (Socket, SocketFile)
    ports       the port table: bind rules, ephemeral ports
    unixnames   unix socket names (the VFS seam: bind_path/find_path)
    hostsock    host sockets made for the sandbox, borrowing guest ones
    waits       parked calls (accept, recv, connect) on one epoll fd
    stack       Network: socket, bind, listen, connect, accept, names
    messages    sendto/recvfrom/sendmsg/recvmsg with addresses or SCM_RIGHTS
    options     setsockopt/getsockopt
"""
from runsc_py.sentry.net.config import NetworkConfig, config_from_flags
from runsc_py.sentry.net.stack import Network

__all__ = ["Network", "NetworkConfig", "build_network"]


def build_network(kernel, mode: str, egress: list[str], publish: list[str]) -> Network:
    """The sandbox's network table from --network, --egress and --publish, with
    its published ports listening; ValueError says what is wrong."""
    network = Network(kernel, config_from_flags(mode, egress, publish))
    try:
        network.publish()
    except OSError as exc:
        raise ValueError(f"cannot publish: {exc.strerror}") from None
    return network
