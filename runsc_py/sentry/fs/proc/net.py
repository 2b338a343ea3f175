"""/proc/net and /proc/<pid>/net: the seam to the network table.

The network (the sentry's network namespace: interfaces, sockets, routes)
owns these files' contents. When the kernel has a `network` attribute,
each file below is `kernel.network.proc_net(name) -> bytes`, rendered at
open like every procfs file. Without one the sandbox has loopback only, and
the files are Linux's headers with no rows, `dev` listing `lo` alone.
"""
from __future__ import annotations

from runsc_py.sentry.fs.synthetic import Dir, Entry, File

_SOCK_HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
                "   uid  timeout inode\n")
_SOCK6_HEADER = ("  sl  local_address                         remote_address                        "
                 "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
LOOPBACK_ONLY = {
    "dev": ("Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|"
            "bytes    packets errs drop fifo colls carrier compressed\n"
            "    lo:       0       0    0    0    0     0          0         0 "
            "       0       0    0    0    0     0       0          0\n"),
    "tcp": _SOCK_HEADER,
    "udp": _SOCK_HEADER,
    "tcp6": _SOCK6_HEADER,
    "udp6": _SOCK6_HEADER,
    "unix": "Num       RefCount Protocol Flags    Type St Inode Path\n",
    "if_inet6": "00000000000000000000000000000001 01 80 10 80       lo\n",
    "route": ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU"
              "\tWindow\tIRTT                                                       \n"),
}
NAMES = tuple(LOOPBACK_ONLY)


def net_dir(kernel) -> Dir:
    def children() -> dict[str, Entry]:
        return {name: File(lambda n=name: _render(kernel, n)) for name in NAMES}

    return Dir(children)


def _render(kernel, name: str) -> bytes:
    network = getattr(kernel, "network", None)
    if network is not None:
        return network.proc_net(name)
    return LOOPBACK_ONLY[name].encode()
