"""The sandbox's network: the sentry's network table (issue 6).

One module per concern:
    config      mode (sandbox/host/none), interfaces, addresses
    egress      --egress rules (default deny)
    sockaddr    struct sockaddr_* both ways
    sockets     a socket as the sentry knows it (Socket, SocketFile)
    ports       the port table: bind rules, ephemeral ports
    unixnames   unix socket names: abstract ones, and socket files in the VFS
    hostsock    host sockets made for the sandbox, borrowing guest ones
    factory     building the table from flags, at the first socket call
    waits       parked calls (accept, recv, connect) on one epoll fd
    stack       Network: socket, bind, listen, connect, accept, names
    messages    sendto/recvfrom/sendmsg/recvmsg with addresses or SCM_RIGHTS
    ancillary   IP/IPv6 receive ancillary data on UDP sockets, per-packet IP values
    udpegress   UDP to allowed outside addresses, through the sentry's relays
    options     setsockopt/getsockopt
"""


def __getattr__(name: str):
    """Network and NetworkConfig on first use: importing a submodule (the CLI
    imports `factory`) must not build the whole table's code."""
    if name == "Network":
        from runsc_py.sentry.net.stack import Network

        return Network
    if name == "NetworkConfig":
        from runsc_py.sentry.net.config import NetworkConfig

        return NetworkConfig
    raise AttributeError(name)
