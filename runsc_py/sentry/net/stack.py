"""The network table: the sandbox's sockets, ports, listeners and connections.

`kernel.network` is a Network. Its methods are what the socket syscalls
do (runsc_py/syscalls/socket.py decodes the arguments and calls them).

How a sandbox connection works. `socket(AF_INET, SOCK_STREAM)` gives the
workload a fresh host AF_UNIX stream socket (made in its own, empty,
network namespace). `listen` binds that host socket to an abstract name
only the sentry knows and makes it a host listener, so the kernel's
accept queue, blocking and poll/epoll readiness on the listener are
native. `connect` is the sentry connecting the *same* host socket (a copy
borrowed with pidfd_getfd, so every dup and fork of it sees the change)
to that name: from then on read/write/send/recv/poll on the connection
are the host's. The sentry remembers, per listener and in connect order,
who connected (address, virtual credentials); `accept` is trapped, the
sentry accepts on the workload's behalf (parking the call while the queue
is empty) and installs the new host socket with that record, which
answers getpeername, accept's address and SO_PEERCRED.

Datagram sockets are host AF_UNIX datagram sockets bound to sentry names;
sendto and recvfrom with an address go through the sentry, which
translates names both ways, so recvfrom reports the sandbox source
address. send/recv without an address run natively.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import os
import select
import socket
import struct

from runsc_py.platform import HELD, FdInstall, InstallFds
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.net import etcfiles, netlink, procnet, sockaddr
from runsc_py.sentry.net.config import NetworkConfig
from runsc_py.sentry.net.hostsock import HostSockets, borrowed
from runsc_py.sentry.net.ports import PortTable, overlaps
from runsc_py.sentry.net.sockaddr import InetAddress, NetlinkAddress, UnixAddress
from runsc_py.sentry.net.sockets import Credentials, PendingConnection, Socket, SocketFile
from runsc_py.sentry.net.unixnames import UnixNames
from runsc_py.sentry.net.waits import Waits, socket_timeout_ns

SOCK_NONBLOCK, SOCK_CLOEXEC = socket.SOCK_NONBLOCK, socket.SOCK_CLOEXEC
AF_NETLINK, AF_PACKET = 16, 17
NETLINK_ROUTE = 0
IPPROTO_UDPLITE = 136
ICMP = (socket.IPPROTO_ICMP, socket.IPPROTO_ICMPV6)
CAP_NET_BIND_SERVICE, CAP_NET_RAW = 10, 13
HOST_BACKLOG_MIN = 128   # a sandbox listener's host queue: a full one would refuse, not wait


class Network:
    def __init__(self, kernel, config: NetworkConfig | None = None):
        self.kernel = kernel
        self.config = config or NetworkConfig()
        self.host = HostSockets()
        self.ports = PortTable(self.alive)
        self.unix = UnixNames(kernel.vfs, self.alive)
        self.by_host_name: dict[bytes, Socket] = {}
        self._waits: Waits | None = None
        self._udp_egress = None
        self._sink = None   # net/sink.py, made at the first use
        self._port_ids = 0x10000
        self._prune_at = 1024
        from runsc_py.sentry.net.messages import Messages

        self.messages = Messages(self)

    @property
    def waits(self) -> Waits:
        if self._waits is None:
            self._waits = Waits(self.kernel.platform, self.kernel.interrupts)
        return self._waits

    @property
    def udp_egress(self):
        if self._udp_egress is None:
            from runsc_py.sentry.net.udpegress import UdpEgress

            self._udp_egress = UdpEgress(self)
        return self._udp_egress

    # -- which sockets exist -------------------------------------------

    def alive(self, sock: Socket) -> bool:
        """Whether some process still has an fd for `sock` (else its names are free)."""
        for task in self.kernel.tasks.by_host_tid.values():
            for entry in task.process.fds.entries.values():
                if getattr(entry.file, "sock", None) is sock:
                    return True
        return False

    def socket_inodes(self):
        """(Socket, host inode, owner's uid) for every live socket, once each."""
        seen = set()
        for task in list(self.kernel.tasks.by_host_tid.values()):
            for entry in task.process.fds.entries.values():
                sock = getattr(entry.file, "sock", None)
                if sock is not None and id(sock) not in seen:
                    seen.add(id(sock))
                    inode = int(entry.file.path.rpartition("[")[2].rstrip("]") or 0)
                    yield sock, inode, task.process.creds.euid

    # -- what the rest of the sentry shows of the network ---------------------

    def proc_net(self, name: str) -> bytes:
        """/proc/net/NAME for the procfs. Under --network=host the workload's
        inet sockets, interfaces and routes are the namespace's (the
        sentry's own: the container's, or the host's for `do`), so is what
        Linux says of them; unix sockets stay the sandbox's."""
        if self.config.mode == "host" and name != "unix":
            with open(f"/proc/self/net/{name}", "rb") as f:
                return f.read()
        if name in ("tcp", "tcp6", "udp", "udp6"):
            return procnet.inet_table(list(self.socket_inodes()), name[:3], name.endswith("6"))
        if name == "unix":
            return procnet.unix_table(list(self.socket_inodes()))
        if name == "dev":
            return procnet.dev_table(self.config.interfaces())
        if name == "if_inet6":
            return procnet.if_inet6_table(self.config.interfaces())
        if name == "route":
            return procnet.route_table(self.config)
        raise SyscallError(errno.ENOENT)

    def etc_hosts(self) -> bytes:
        return etcfiles.hosts(self.config, self.kernel.hostname)

    def etc_resolv_conf(self) -> bytes:
        return etcfiles.resolv_conf(self.config)

    def etc_hostname(self) -> bytes:
        return etcfiles.hostname(self.kernel.hostname)

    @staticmethod
    def socket_of(ctx, fd: int) -> Socket:
        file = ctx.fds.file(fd)
        if file.kind != "socket":
            raise SyscallError(errno.ENOTSOCK)
        return file.sock

    @staticmethod
    def creds_of(ctx) -> Credentials:
        return Credentials(ctx.process.vpid, ctx.process.creds.euid, ctx.process.creds.egid)

    # -- socket, socketpair ---------------------------------------------

    def socket(self, ctx, family: int, type_: int, protocol: int) -> InstallFds:
        base = type_ & 0xF
        if type_ & ~(0xF | SOCK_NONBLOCK | SOCK_CLOEXEC):
            raise SyscallError(errno.EINVAL)
        self.host.enter_sandbox_namespace_of(ctx.task.host_tid)
        if self.config.mode == "host" and family in (socket.AF_INET, socket.AF_INET6) \
                and (base == socket.SOCK_RAW or base == socket.SOCK_DGRAM and protocol in ICMP):
            sock, host_fd = self._icmp_socket(ctx, family, base, protocol)
        else:
            sock, host_fd = self._new_socket(family, base, protocol)
        if type_ & SOCK_NONBLOCK:
            os.set_blocking(host_fd, False)
        file = SocketFile("socket", path=f"socket:[{os.fstat(host_fd).st_ino}]", flags=os.O_RDWR,
                          sock=sock)
        return _install(ctx, file, host_fd, bool(type_ & SOCK_CLOEXEC))

    def _new_socket(self, family: int, base: int, protocol: int) -> tuple[Socket, int]:
        if family == AF_NETLINK:
            return self._netlink_socket(base, protocol)
        if family == socket.AF_UNIX:
            base = _unix_type(base)
            if base not in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
                raise SyscallError(errno.ESOCKTNOSUPPORT)
            if protocol not in (0, 1):
                raise SyscallError(errno.EPROTONOSUPPORT)
            return Socket(family, base, 0), self.host.sandbox_socket(base)
        if family in (AF_PACKET,) or base == socket.SOCK_RAW or base == 10:  # SOCK_PACKET
            raise SyscallError(errno.EPERM, "raw and packet sockets")
        if family not in (socket.AF_INET, socket.AF_INET6):
            raise SyscallError(errno.EAFNOSUPPORT)
        expected = {socket.SOCK_STREAM: 6, socket.SOCK_DGRAM: 17}.get(base)
        if expected is None:
            raise SyscallError(errno.ESOCKTNOSUPPORT)
        if protocol == IPPROTO_UDPLITE and base == socket.SOCK_DGRAM:
            expected = protocol  # UDP-Lite: UDP here (no checksums to cover)
        elif protocol not in (0, expected):
            raise SyscallError(errno.EPROTONOSUPPORT)
        if self.config.mode == "host":
            return (Socket(family, base, expected, backing="host"),
                    self.host.host_socket(family, base, protocol))
        return Socket(family, base, expected), self.host.sandbox_socket(base)

    def _icmp_socket(self, ctx, family: int, base: int, protocol: int) -> tuple[Socket, int]:
        """--network=host: a ping socket (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6) for a
        caller in net.ipv4.ping_group_range, or a raw one for a caller with
        CAP_NET_RAW, where the sentry may make it (config.raw_sockets: the
        container's own namespace, a spec that grants the capability).
        Linux's rules by the sandbox's credentials; the sentry's own make it."""
        creds = ctx.process.creds
        if base == socket.SOCK_RAW:
            if not (self.config.raw_sockets and creds.capable(CAP_NET_RAW)):
                raise SyscallError(errno.EPERM, "raw sockets")
        else:
            if self.config.containers_namespace:
                text = self.kernel.sysctl.get("net.ipv4.ping_group_range", "1\t0")
            else:   # the host's namespace: its own rule, which also binds the sentry
                with open("/proc/sys/net/ipv4/ping_group_range") as f:
                    text = f.read()
            low, high = (int(v) for v in text.split())
            if not any(low <= gid <= high for gid in (creds.egid, *creds.groups)):
                raise SyscallError(errno.EACCES)
        return (Socket(family, base, protocol, backing="host"),
                self.host.host_socket(family, base, protocol))

    def _netlink_socket(self, base: int, protocol: int) -> tuple[Socket, int]:
        """NETLINK_ROUTE: one end of a host seqpacket pair; the sentry answers at the other."""
        if base not in (socket.SOCK_RAW, socket.SOCK_DGRAM):
            raise SyscallError(errno.ESOCKTNOSUPPORT)
        if protocol != NETLINK_ROUTE:
            raise SyscallError(errno.EPROTONOSUPPORT, "only NETLINK_ROUTE is answered")
        guest_end, sentry_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock = Socket(AF_NETLINK, base, protocol, local=NetlinkAddress(self._next_port_id()),
                      peer=NetlinkAddress(0))
        sentry_end.setblocking(False)

        def requests() -> bool:
            while True:
                try:
                    data = sentry_end.recv(1 << 16)
                except BlockingIOError:
                    return False
                except ConnectionResetError:   # closed with replies it did not read
                    return True
                if not data:
                    return True   # every workload copy is closed
                self.netlink_request(sock, data, sentry_end)

        sock.netlink = sentry_end
        self.waits.park(sentry_end, select.EPOLLIN, requests)
        return sock, guest_end.detach()

    def _next_port_id(self) -> int:
        self._port_ids += 1
        return self._port_ids

    def netlink_request(self, sock: Socket, data: bytes, sentry_end=None) -> None:
        """Answer rtnetlink requests by queueing the replies on the workload's socket."""
        end = sentry_end if sentry_end is not None else sock.netlink
        if self.config.mode == "host":
            replies = netlink.relay_reads(data, sock.local.port_id)
        else:
            replies = netlink.answer(data, sock.local.port_id, self.config)
        for reply in replies:
            try:
                end.send(reply)
            except OSError:
                return  # the workload's queue is full or it is gone: replies are lost, as on Linux

    def socketpair(self, ctx, family: int, type_: int, protocol: int, sv_addr: int) -> InstallFds:
        base = _unix_type(type_ & 0xF)
        if family != socket.AF_UNIX:
            raise SyscallError(errno.EOPNOTSUPP if family in (socket.AF_INET, socket.AF_INET6)
                               else errno.EAFNOSUPPORT)
        if base not in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
            raise SyscallError(errno.ESOCKTNOSUPPORT)
        if type_ & ~(0xF | SOCK_NONBLOCK | SOCK_CLOEXEC) or protocol not in (0, 1):
            raise SyscallError(errno.EINVAL if protocol in (0, 1) else errno.EPROTONOSUPPORT)
        cloexec = bool(type_ & SOCK_CLOEXEC)
        a = ctx.fds.lowest_free()
        b = ctx.fds.lowest_free(a + 1)
        ctx.write(sv_addr, a.to_bytes(4, "little", signed=True) + b.to_bytes(4, "little", signed=True))
        ha, hb = socket.socketpair(socket.AF_UNIX, base | (type_ & SOCK_NONBLOCK))
        creds = self.creds_of(ctx)
        installs = []
        for guest, host in ((a, ha), (b, hb)):
            sock = Socket(socket.AF_UNIX, base, 0, local=UnixAddress(b""), peer=UnixAddress(b""),
                          creds=creds, peer_creds=creds)
            host_fd = host.detach()
            ctx.fds.install(guest, SocketFile("socket", path=f"socket:[{os.fstat(host_fd).st_ino}]",
                                              flags=os.O_RDWR, sock=sock), cloexec)
            installs.append(FdInstall(host_fd, guest, cloexec))
        return InstallFds(0, installs)

    # -- bind, listen -----------------------------------------------------

    def bind(self, ctx, fd: int, raw: bytes):
        sock = self.socket_of(ctx, fd)
        addr = sockaddr.decode(raw, sock.family)
        if sock.backing == "host":
            if isinstance(addr, InetAddress) and self.config.mode == "host":
                return self._host_bind(ctx, fd, addr)
            return self._host_only(sock)  # --network=host: the host binds it
        if addr is None:
            raise SyscallError(errno.EAFNOSUPPORT)
        if isinstance(addr, NetlinkAddress):
            if addr.port_id:
                sock.local = NetlinkAddress(addr.port_id, addr.groups)
            return 0
        if sock.local is not None and not (isinstance(sock.local, UnixAddress) and not sock.local.name):
            raise SyscallError(errno.EINVAL)
        if isinstance(addr, UnixAddress):
            if not addr.name:  # autobind: an abstract name of the kernel's choosing
                addr = UnixAddress(b"\0" + os.urandom(3).hex()[:5].encode())
            sock.local = self.unix.bind(sock, addr, ctx.process)
            sock.creds = self.creds_of(ctx)
            self._bind_host_name(ctx, fd, sock, "u")
            return 0
        if not (self.config.is_local(addr.ip) or addr.ip.is_unspecified
                or addr.ip.is_multicast and not sock.stream):   # UDP may bind a group's address
            raise SyscallError(errno.EADDRNOTAVAIL)
        if addr.family == socket.AF_INET6 and addr.ip.ipv4_mapped is not None and sock.v6only:
            raise SyscallError(errno.EINVAL)
        sock.local = self.ports.bind(sock, sock.proto_name, addr)
        sock.creds = self.creds_of(ctx)
        if not sock.stream:
            self._bind_host_name(ctx, fd, sock, "d")
        return 0

    def _bind_host_name(self, ctx, fd: int, sock: Socket, what: str) -> None:
        """Give the host socket its sentry name, so peers can reach it and be told its address."""
        if sock.host_name is not None:
            return
        name = self.host.unique_name(what)
        with borrowed(self.kernel, ctx.task, fd) as s:
            s.bind(name)
        sock.host_name = name
        if len(self.by_host_name) >= self._prune_at:
            self._prune_names()
        self.by_host_name[name] = sock

    def _prune_names(self) -> None:
        """Forget the names of sockets no fd refers to any more (checked in batches)."""
        live = {id(sock) for sock, _inode, _uid in self.socket_inodes()}
        if self._udp_egress is not None:
            live |= {id(sock) for sock in self._udp_egress.relay_sockets()}
        self.by_host_name = {n: s for n, s in self.by_host_name.items() if id(s) in live}
        self._prune_at = max(1024, 2 * len(self.by_host_name))

    def listen(self, ctx, fd: int, backlog: int):
        sock = self.socket_of(ctx, fd)
        if sock.backing == "host":
            return self._host_only(sock)
        if not sock.stream:
            raise SyscallError(errno.EOPNOTSUPP)
        if sock.peer is not None:
            raise SyscallError(errno.EINVAL)
        if sock.local is None:
            if sock.inet:
                sock.local = self.ports.bind(sock, "tcp", sockaddr.wildcard(sock.family))
            else:
                raise SyscallError(errno.EINVAL)   # no listens on an unbound unix socket
        if sock.inet and not sock.listening:
            for other in self.ports.holders("tcp", sock.local.port):
                if other is not sock and other.listening and not (sock.reuseport and other.reuseport) \
                        and overlaps(sock.local, other.local, sock.v6only or other.v6only):
                    raise SyscallError(errno.EADDRINUSE)
        self._bind_host_name(ctx, fd, sock, "l")
        with borrowed(self.kernel, ctx.task, fd) as s:
            s.listen(max(min(backlog, 4096), HOST_BACKLOG_MIN))
        sock.listening = True
        sock.creds = self.creds_of(ctx)
        return 0

    # -- connect -------------------------------------------------------------

    def connect(self, ctx, fd: int, raw: bytes):
        sock = self.socket_of(ctx, fd)
        if sock.backing == "host" and self.config.mode == "host":
            return None
        addr = sockaddr.decode(raw, sock.family)
        if sock.family == AF_NETLINK:
            return 0   # the only peer is the kernel
        if not sock.stream:
            return self._connect_datagram(ctx, fd, sock, addr)
        if addr is None:
            raise SyscallError(errno.EAFNOSUPPORT)
        if sock.listening:
            raise SyscallError(errno.EINVAL)
        if sock.refused:
            return self._after_refusal(ctx, fd, sock)
        if sock.peer is not None:
            if sock.connecting:   # as Linux's SS_CONNECTING socket, once established
                sock.connecting = False
                return 0
            raise SyscallError(errno.EISCONN)
        if isinstance(addr, UnixAddress):
            return self._connect_to(ctx, fd, sock, self.unix.find(addr, ctx.process), addr)
        dest = _loopback_for_wildcard(addr)
        listener = self.find_listener(dest) if self.config.is_local(dest.ip) else None
        if listener is not None:
            self._choose_local(sock, dest)
            return self._connect_to(ctx, fd, sock, listener, dest)
        if self.config.mode != "none" and self.config.egress.allows(dest.ip, dest.port):
            return self._connect_egress(ctx, fd, sock, dest)
        if not self.config.is_local(dest.ip):
            raise SyscallError(errno.ENETUNREACH)
        return self._refuse(ctx, fd, sock, dest)

    def _refuse(self, ctx, fd: int, sock: Socket, dest: InetAddress):
        """Nobody listens at `dest`. A blocking connect is refused; a non-blocking
        one, as on Linux's loopback, says EINPROGRESS and leaves the refusal
        pending: the fd becomes a TCP socket loopback has just reset (made in
        the sandbox's namespace), whose poll, SO_ERROR, recv and send are
        then Linux's own. The next connect is `_after_refusal`."""
        entry = ctx.fds.get(fd)
        with borrowed(self.kernel, ctx.task, fd) as old:
            blocking = os.get_blocking(old.fileno())
        host_fd = None if blocking else self.host.refused_socket(sock.family, dest.port)
        if host_fd is None:
            raise SyscallError(errno.ECONNREFUSED)
        source = _source_for(sock.family, dest, self.config)
        if sock.local is None:   # Linux keeps the ephemeral port it chose for getsockname
            port = socket.socket(fileno=os.dup(host_fd))
            try:
                sock.local = source.with_port(port.getsockname()[1])
            finally:
                port.close()
        elif sock.local.ip.is_unspecified:
            sock.local = source.with_port(sock.local.port)
        sock.backing, sock.refused = "host", True
        return InstallFds(-errno.EINPROGRESS, [FdInstall(host_fd, fd, entry.cloexec)])

    def _after_refusal(self, ctx, fd: int, sock: Socket):
        """A connect on a refused socket: the pending error if nobody took it,
        else ECONNABORTED; either way the socket is then as new (Linux
        disconnects it), so the fd gets a fresh sandbox socket."""
        with borrowed(self.kernel, ctx.task, fd) as s:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or errno.ECONNABORTED
            blocking = os.get_blocking(s.fileno())
        entry = ctx.fds.get(fd)
        host_fd = self.host.sandbox_socket(socket.SOCK_STREAM)
        os.set_blocking(host_fd, blocking)
        if sock.local is not None and sock not in self.ports.holders("tcp", sock.local.port):
            sock.local = None   # the port Linux chose is given up; a bound one stays
        sock.backing, sock.refused, sock.redescribed = "sandbox", False, True
        return InstallFds(-err, [FdInstall(host_fd, fd, entry.cloexec)])

    def _host_bind(self, ctx, fd: int, addr: InetAddress) -> int:
        """--network=host: the sentry binds the host socket to its copy of the
        address, with the sandbox's rule for low ports (the caller's
        CAP_NET_BIND_SERVICE in the sandbox, against the sandbox's
        net.ipv4.ip_unprivileged_port_start), since the workload's host
        user has no capability. In a container's namespace every port is
        the sentry's to bind (sandbox.configure_container_network); in the
        host's, a low port stays the host's to refuse."""
        start = int(self.kernel.sysctl.get("net.ipv4.ip_unprivileged_port_start", "1024"))
        if 0 < addr.port < start and not ctx.process.creds.capable(CAP_NET_BIND_SERVICE):
            raise SyscallError(errno.EACCES)
        with borrowed(self.kernel, ctx.task, fd) as s:
            s.bind(sockaddr.to_host(addr))
        return 0

    def _host_only(self, sock: Socket):
        """A host socket's bind/listen run natively only with --network=host.

        An egress socket lives in the host's namespace: letting it bind or
        listen natively would give the workload a host port.
        """
        if self.config.mode == "host":
            return None
        raise SyscallError(errno.EISCONN if sock.peer is not None else errno.EINVAL)

    def find_listener(self, dest: InetAddress) -> Socket | None:
        for sock in self.ports.holders("tcp", dest.port):
            if sock.listening and _accepts(sock, dest):
                return sock
        return None

    def _connect_to(self, ctx, fd: int, sock: Socket, listener: Socket, dest):
        if listener.type != sock.type or not listener.listening:
            raise SyscallError(errno.ECONNREFUSED if listener.type == sock.type else errno.EPROTOTYPE)
        with borrowed(self.kernel, ctx.task, fd) as s:
            blocking = os.get_blocking(s.fileno())
            with _nonblocking(s):
                try:
                    s.connect(listener.host_name)
                except BlockingIOError:  # the host queue is full: as a SYN that got no answer
                    raise SyscallError(errno.ECONNREFUSED) from None
        local = sock.local if sock.local is not None else UnixAddress(b"")
        if sock.inet:  # as the listener's family sees them (v4-mapped on a v6 listener)
            listener.pending.append(PendingConnection(_as_family(dest, listener.family),
                                                      _as_family(local, listener.family),
                                                      self.creds_of(ctx), client=sock))
        else:
            listener.pending.append(PendingConnection(listener.local, local, self.creds_of(ctx)))
        sock.peer = dest if sock.inet else listener.local
        sock.peer_creds = listener.creds
        sock.creds = self.creds_of(ctx)
        redescribed, sock.redescribed = sock.redescribed, False
        if sock.inet and not blocking and not redescribed:
            # TCP's handshake, even on loopback, is not done within a
            # non-blocking connect: EINPROGRESS, and the socket is writable
            # with SO_ERROR 0 (already so: its host connection is made). Not
            # for an fd a refusal gave a new host socket: an epoll
            # registration of the old one is gone with it (the kernel drops
            # a closed file's), so a caller that would wait there for
            # writability is told at once (0, as a quick handshake may)
            sock.connecting = True
            raise SyscallError(errno.EINPROGRESS)
        return 0

    def _choose_local(self, sock: Socket, dest: InetAddress) -> None:
        """Bind an unbound client (ephemeral port) and give it the source address Linux would."""
        source = _source_for(sock.family, dest, self.config)
        if sock.local is None:
            sock.local = self.ports.bind(sock, sock.proto_name, source)
        elif sock.local.ip.is_unspecified:
            sock.local = source.with_port(sock.local.port)

    def _connect_egress(self, ctx, fd: int, sock: Socket, dest: InetAddress):
        """An allowed outside address: a host socket in the host's namespace, then native."""
        host_fd = self.host.host_socket(sock.family, socket.SOCK_STREAM, 0)
        s = socket.socket(fileno=host_fd)
        entry = ctx.fds.get(fd)
        with borrowed(self.kernel, ctx.task, fd) as old:
            blocking = os.get_blocking(old.fileno())
        s.setblocking(False)
        err = s.connect_ex(sockaddr.to_host(dest))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            raise SyscallError(err)
        before = (sock.backing, sock.peer, sock.local, sock.creds)
        sock.backing, sock.peer = "host", dest
        sock.local = _source_for(sock.family, dest, self.config).with_port(s.getsockname()[1])
        sock.creds = self.creds_of(ctx)
        os.set_blocking(host_fd, blocking)
        install = InstallFds(0, [FdInstall(os.dup(host_fd), fd, entry.cloexec)])
        if err == 0:
            s.close()
            return install
        if not blocking:  # installed now, connecting in the background: EINPROGRESS
            s.close()
            install.value = -errno.EINPROGRESS
            return install
        call, platform = ctx.call, self.kernel.platform

        def connected() -> bool:
            result = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if result:
                os.close(install.fds[0].host_fd)
                platform.complete(call, -result)
            else:
                platform.complete(call, install)
            return True

        def interrupted() -> None:   # the caller's socket is still the unconnected one
            os.close(install.fds[0].host_fd)
            sock.backing, sock.peer, sock.local, sock.creds = before

        self.waits.park(s, select.EPOLLOUT, connected, call, interrupted)
        return HELD

    def _connect_datagram(self, ctx, fd: int, sock: Socket, addr):
        if addr is None:  # AF_UNSPEC: dissolve the association
            sock.peer = None
            with borrowed(self.kernel, ctx.task, fd) as s:
                _disconnect(s)
            return 0
        target = self.datagram_target(ctx, sock, addr)
        if sock.inet:
            self._choose_local(sock, _loopback_for_wildcard(addr))
            self._bind_host_name(ctx, fd, sock, "d")
        with borrowed(self.kernel, ctx.task, fd) as s:
            # nobody has the port yet, or a group: the sink sends on (net/sink.py)
            s.connect(target.host_name if target is not None else self.sink.address())
        sock.peer = _loopback_for_wildcard(addr) if sock.inet else addr
        return 0

    @property
    def sink(self):
        if self._sink is None:
            from runsc_py.sentry.net.sink import DatagramSink

            self._sink = DatagramSink(self)
        return self._sink

    def arrived_at_sink(self, data: bytes, sender_name: bytes) -> None:
        """A datagram its sender sent natively to an address it is connected
        to that nobody had then: on to whoever has it now (net/sink.py)."""
        sender = self.by_host_name.get(sender_name)
        if sender is None or sender.peer is None:
            return
        try:
            targets = self.datagram_targets(None, sender, sender.peer)
        except SyscallError:   # a broadcast without SO_BROADCAST, an address egress refuses
            return
        owner = self._owner_of(sender) if targets else None
        if owner is None:
            return   # nobody has the address: lost, as on Linux
        task, fd = owner
        # a receiver's queue full, or the sender gone meanwhile: lost, as a datagram may be
        with contextlib.suppress(OSError, SyscallError), borrowed(self.kernel, task, fd) as s:
            for target in targets:
                s.sendto(data, target.host_name)
            if len(targets) == 1 and not self._group(sender.peer):
                s.connect(targets[0].host_name)   # sends go there directly from now on

    def _owner_of(self, sock: Socket):
        """A (task, guest fd) whose fd is `sock`, to borrow its host socket."""
        for task in list(self.kernel.tasks.by_host_tid.values()):
            for fd, entry in list(task.process.fds.entries.items()):
                if getattr(entry.file, "sock", None) is sock:
                    return task, fd
        return None

    def datagram_targets(self, ctx, sock: Socket, addr) -> list[Socket]:
        """The sandbox sockets a datagram to `addr` goes to: one for a unicast address
        (none: it is dropped), every receiving socket for a group or broadcast."""
        if sock.inet and addr is not None and self._group(addr):
            return self.group_receivers(sock, addr)
        target = self.datagram_target(ctx, sock, addr)
        return [] if target is None else [target]

    def _group(self, addr) -> bool:
        """Whether `addr` is a multicast group or a broadcast address."""
        ip = addr.v4 if addr.v4 is not None else addr.ip
        return ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255") or (
            self.config.mode == "sandbox" and ip == self.config.eth0.network.broadcast_address)

    def group_receivers(self, sender: Socket, dest: InetAddress) -> list[Socket]:
        """Who gets a datagram sent to a multicast group or a broadcast address.

        As Linux on one host: the sender needs SO_BROADCAST for a broadcast
        (else EACCES) and keeps IP_MULTICAST_LOOP on for its own host to get a
        group's datagram (here every receiver is on its own host). A group's
        datagram goes to every socket holding the port bound to the wildcard
        or the group, once any socket in the sandbox has joined the group, if
        that socket joined it too or left IP_MULTICAST_ALL on (the default);
        a broadcast to those bound to the wildcard or the broadcast address."""
        group = dest.v4 if dest.v4 is not None else dest.ip
        holders = self.ports.holders("udp", dest.port)
        if not group.is_multicast:
            if not int.from_bytes(sender.options.get((1, 6), b"\0")[:4], "little"):   # SO_BROADCAST
                raise SyscallError(errno.EACCES)
            return [s for s in holders if _accepts(s, dest)]
        loop = (0, 34) if group.version == 4 else (41, 19)   # IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP
        if not int.from_bytes(sender.options.get(loop, b"\1")[:4], "little"):
            return []
        if not any(group in s.groups for s, _inode, _uid in self.socket_inodes()):
            return []
        return [s for s in holders if _accepts(s, dest) and
                (group in s.groups or int.from_bytes(s.options.get((0, 49), b"\1")[:4], "little"))]

    def datagram_target(self, ctx, sock: Socket, addr) -> Socket | None:
        """The sandbox socket a datagram to `addr` goes to (None: it is dropped).
        Connecting to a group or a broadcast address gives None (see datagram_targets)."""
        if sock.inet and addr is not None and self._group(addr):
            return None
        if isinstance(addr, UnixAddress):
            target = self.unix.find(addr, ctx.process)
            if target.type != sock.type:
                raise SyscallError(errno.EPROTOTYPE)
            return target
        dest = _loopback_for_wildcard(addr)
        if self.config.is_local(dest.ip):
            live = [s for s in self.ports.holders("udp", dest.port) if _accepts(s, dest)]
            if live:
                return live[-1]
        if self.config.mode != "none" and self.config.egress.allows(dest.ip, dest.port):
            return self.udp_egress.relay_for(sock.family, dest)
        if self.config.is_local(dest.ip):
            return None   # nobody has the port: the datagram is lost
        raise SyscallError(errno.ENETUNREACH, "no egress rule allows this address")

    # -- accept ------------------------------------------------------------

    def accept(self, ctx, fd: int, addr_ptr: int, len_ptr: int, flags: int):
        if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
            raise SyscallError(errno.EINVAL)
        sock = self.socket_of(ctx, fd)
        if sock.backing != "host" and not sock.listening:
            raise SyscallError(errno.EINVAL)
        s = self._borrow(ctx, fd)
        if _readable(s):
            try:
                return self._accept_one(ctx, s, sock, addr_ptr, len_ptr, flags)
            finally:
                s.close()
        if not os.get_blocking(s.fileno()):
            s.close()
            raise SyscallError(errno.EAGAIN)
        call, platform = ctx.call, self.kernel.platform

        def ready() -> bool:
            if not platform.still_valid(call):
                return True   # interrupted: leave the connection queued for the next accept
            if not _readable(s):
                return False
            try:
                result = self._accept_one(ctx, s, sock, addr_ptr, len_ptr, flags)
            except SyscallError as exc:
                result = -exc.errno
            except OSError as exc:
                result = -(exc.errno or errno.EIO)
            platform.complete(call, result)
            return True

        self.waits.park(s, select.EPOLLIN, ready, call,
                        timeout_ns=socket_timeout_ns(s, select.EPOLLIN))
        return HELD

    def _borrow(self, ctx, fd: int) -> socket.socket:
        host_fd = self.kernel.borrow_fd(ctx.task, fd)
        return socket.socket(fileno=host_fd)

    def _accept_one(self, ctx, s: socket.socket, listener: Socket, addr_ptr: int, len_ptr: int,
                    flags: int) -> InstallFds:
        host_fd, host_addr = s._accept()
        record = listener.pending.popleft() if listener.pending and listener.backing != "host" else None
        if record is not None and record.substitute is not None:
            os.close(host_fd)   # the placeholder a published connection queued
            host_fd = record.substitute
        if flags & SOCK_NONBLOCK:
            os.set_blocking(host_fd, False)
        if listener.backing == "host":
            conn = Socket(listener.family, listener.type, listener.protocol, backing="host")
            peer = sockaddr.from_host(listener.family, host_addr)
        else:
            record = record or PendingConnection(listener.local, UnixAddress(b""), Credentials())
            conn = Socket(listener.family, listener.type, listener.protocol, local=record.local,
                          peer=record.peer, creds=listener.creds, peer_creds=record.creds,
                          options=dict(listener.options),
                          backing="sandbox" if record.substitute is None else "host",
                          partner=record.client)
            if record.client is not None:
                record.client.partner = conn
            peer = record.peer
        if addr_ptr:
            write_address(ctx, addr_ptr, len_ptr, peer)
        file = SocketFile("socket", path=f"socket:[{os.fstat(host_fd).st_ino}]", flags=os.O_RDWR,
                          sock=conn)
        return _install(ctx, file, host_fd, bool(flags & SOCK_CLOEXEC))

    # -- closing ---------------------------------------------------------------

    def closing(self, ctx, fd: int, sock: Socket) -> None:
        """The workload closes `fd` (its host fd is still open). On the last fd of
        a sandbox TCP connection, the host end lingers, as a TCP socket does:

        TCP's peer reads EOF (the FIN) and may still send once — the closed
        end answers with a reset, and only the next send fails (EPIPE). A
        unix stream would fail the first. So the sentry keeps a copy of the
        closing end, shut for writing (the peer's EOF), and waits: when the
        peer's data arrives (or the peer closes) it shuts the copy for
        reading, which makes the peer's next send fail (EPIPE, as after
        Linux's reset), drops what came and closes the copy.
        A connection closed with unread data is closed at once: Linux resets
        it then (the peer's next read gets ECONNRESET, as the unix socket
        gives it). Only a trapped close lingers; fds a process exits with
        close natively."""
        if not (sock.inet and sock.type == socket.SOCK_STREAM and sock.backing == "sandbox"
                and sock.peer is not None and not sock.listening) or sock.partner_closed:
            return   # (a partner that closed first lingers; it sees this close natively)
        if self.alive(sock) or self.messages.in_flight(sock):
            return
        if sock.partner is not None:
            sock.partner.partner_closed = True
        onoff, seconds = struct.unpack("<ii", sock.options.get((socket.SOL_SOCKET, socket.SO_LINGER),
                                                               bytes(8))[:8].ljust(8, b"\0"))
        if onoff and not seconds:
            self._reset_partner(sock)   # an abortive close: Linux sends a reset
            return
        try:
            s = self._borrow(ctx, fd)
        except (SyscallError, OSError):
            return
        p = select.poll()
        p.register(s.fileno(), select.POLLIN | select.POLLRDHUP)
        ready = dict(p.poll(0)).get(s.fileno(), 0)
        if ready & (select.POLLRDHUP | select.POLLHUP) or ready & select.POLLIN:
            s.close()   # the peer is gone already, or data is unread (a reset)
            return
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            s.close()
            return
        self.waits.park(s, select.EPOLLIN | select.EPOLLRDHUP, lambda: _refuse_more(s))

    def _reset_partner(self, sock: Socket) -> None:
        """SO_LINGER {1, 0}: the peer's next read is ECONNRESET, and it is no
        longer connected (getpeername: ENOTCONN). A unix stream closed with
        unread data resets its peer as the workload's close goes through, so
        the peer's end first sends the closing one a byte it will never read."""
        partner = sock.partner
        if partner is None:
            return
        partner.peer = None
        host_fd = self._holder_fd(partner)
        if host_fd is None:
            return
        with socket.socket(fileno=host_fd) as s, contextlib.suppress(OSError):
            s.send(b"\0", socket.MSG_DONTWAIT)   # (a full buffer: data is unread already)

    def _holder_fd(self, sock: Socket) -> int | None:
        """A sentry-side copy of the host socket behind `sock`, from any fd of the sandbox."""
        tables = {}
        for task in list(self.kernel.tasks.by_host_tid.values()):
            tables.setdefault(id(task.process.fds), (task, task.process.fds))
        for task, fds in tables.values():
            for fd, entry in list(fds.entries.items()):
                if getattr(entry.file, "sock", None) is sock:
                    with contextlib.suppress(SyscallError):
                        return self.kernel.borrow_fd(task, fd)
        return None

    # -- published ports ---------------------------------------------------------

    def publish(self) -> None:
        """Listen on each --publish host port; connections go to the sandbox listener.

        A host connection is handed to the workload as the accepted socket
        itself (a real TCP socket, so its data path is native). To keep the
        sandbox listener's queue, blocking and readiness native, the sentry
        queues a placeholder connection on it and swaps it at accept.
        """
        for host_port, sandbox_port, host_ip in self.config.publish:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM | SOCK_CLOEXEC)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host_ip, host_port))
            listener.listen(128)
            listener.setblocking(False)
            self.waits.park(listener, select.EPOLLIN,
                            lambda lst=listener, port=sandbox_port: self._incoming(lst, port))

    def _incoming(self, host_listener: socket.socket, sandbox_port: int) -> bool:
        while True:
            try:
                conn, (peer_ip, peer_port) = host_listener.accept()
            except BlockingIOError:
                return False
            except OSError:
                return False
            self._forward(conn, peer_port, sandbox_port)

    def _forward(self, conn: socket.socket, peer_port: int, sandbox_port: int) -> None:
        dest = InetAddress(socket.AF_INET, self.config.eth0.ip, sandbox_port)
        listener = self.find_listener(dest)
        if listener is None or self.host._sandbox_ns is None:
            conn.close()   # nothing listens in the sandbox: refused
            return
        placeholder = socket.socket(fileno=self.host.sandbox_socket(socket.SOCK_STREAM))
        placeholder.setblocking(False)
        try:
            placeholder.connect(listener.host_name)
        except OSError:
            conn.close()
            return
        finally:
            placeholder.close()
        peer = InetAddress(socket.AF_INET, self.config.gateway, peer_port)
        conn.setblocking(True)
        listener.pending.append(PendingConnection(_as_family(dest, listener.family),
                                                  _as_family(peer, listener.family),
                                                  Credentials(), conn.detach()))

    # -- names ---------------------------------------------------------------

    def getsockname(self, ctx, fd: int):
        sock = self.socket_of(ctx, fd)
        if sock.backing == "host":
            if self.config.mode == "host":
                return None
            return sockaddr.wildcard(sock.family) if sock.local is None else sock.local
        if sock.local is not None:
            return sock.local
        return UnixAddress(b"") if not sock.inet else sockaddr.wildcard(sock.family)

    def getpeername(self, ctx, fd: int):
        sock = self.socket_of(ctx, fd)
        if sock.backing == "host" and self.config.mode == "host":
            return None
        if sock.peer is None:
            raise SyscallError(errno.ENOTCONN)
        return sock.peer

    def address_of_host_name(self, family: int, name) -> object:
        """The sandbox address of a datagram's host source (a sentry name)."""
        if isinstance(name, str):
            name = name.encode("latin-1")
        sender = self.by_host_name.get(name)
        if sender is not None and sender.local is not None:
            return sender.local
        return UnixAddress(b"") if family == socket.AF_UNIX else sockaddr.wildcard(family)


def _install(ctx, file, host_fd: int, cloexec: bool) -> InstallFds:
    try:
        fd = ctx.fds.lowest_free()
    except SyscallError:
        os.close(host_fd)
        raise
    ctx.fds.install(fd, file, cloexec)
    return InstallFds(fd, [FdInstall(host_fd, fd, cloexec)])


def _unix_type(base: int) -> int:
    """A unix socket's type: SOCK_RAW is taken for SOCK_DGRAM (net/unix/af_unix.c)."""
    return socket.SOCK_DGRAM if base == socket.SOCK_RAW else base


def write_address(ctx, addr_ptr: int, len_ptr: int, addr) -> None:
    """Write a sockaddr the way the kernel does: truncated to the caller's size, true length back."""
    raw = sockaddr.encode(addr)
    room = int.from_bytes(ctx.read(len_ptr, 4), "little", signed=True)
    if room < 0:
        raise SyscallError(errno.EINVAL)
    if room:
        ctx.write(addr_ptr, raw[:room])
    ctx.write(len_ptr, len(raw).to_bytes(4, "little"))


def _refuse_more(s: socket.socket) -> bool:
    """A lingering end the peer sent to: its sends fail from now on (the unix
    stream's peer of an end shut for reading gets EPIPE), and what came is
    dropped (so the close leaves nothing unread, which would be a reset);
    True: close it now."""
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RD)
        while s.recv(1 << 16, socket.MSG_DONTWAIT):
            continue   # dropped
    return True


def _readable(s: socket.socket) -> bool:
    p = select.poll()
    p.register(s.fileno(), select.POLLIN)
    return bool(p.poll(0))


class _nonblocking:
    """Make a borrowed socket's description non-blocking for one call (it is shared)."""

    def __init__(self, s: socket.socket):
        self.fd = s.fileno()

    def __enter__(self):
        self.flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, self.flags | os.O_NONBLOCK)

    def __exit__(self, *exc):
        fcntl.fcntl(self.fd, fcntl.F_SETFL, self.flags)


def _disconnect(s: socket.socket) -> None:
    import ctypes

    unspec = (ctypes.c_ushort * 1)(0)
    ctypes.CDLL(None).connect(s.fileno(), unspec, 2)


def _accepts(sock: Socket, dest: InetAddress) -> bool:
    """Whether a socket bound to sock.local receives what is sent to `dest`."""
    local = sock.local
    if local is None:
        return False
    if local.family == dest.family:
        return local.ip.is_unspecified or local.ip == dest.ip
    if local.family == socket.AF_INET6 and dest.family == socket.AF_INET:
        return not sock.v6only and (local.ip.is_unspecified or local.ip.ipv4_mapped == dest.ip)
    mapped = dest.ip.ipv4_mapped
    return mapped is not None and (local.ip.is_unspecified or local.ip == mapped)


def _as_family(addr: InetAddress, family: int) -> InetAddress:
    if addr.family == family:
        return addr
    if family == socket.AF_INET6:
        return InetAddress(family, ipaddress.IPv6Address(f"::ffff:{addr.ip}"), addr.port)
    return InetAddress(family, addr.ip.ipv4_mapped, addr.port)


def _loopback_for_wildcard(addr: InetAddress) -> InetAddress:
    """Connecting to 0.0.0.0 or :: reaches the local host, as on Linux."""
    if addr.ip.is_unspecified:
        lo = ipaddress.IPv4Address("127.0.0.1") if addr.family == socket.AF_INET else ipaddress.IPv6Address("::1")
        return InetAddress(addr.family, lo, addr.port)
    return addr


def _source_for(family: int, dest: InetAddress, config: NetworkConfig) -> InetAddress:
    ip = dest.v4 if dest.v4 is not None else dest.ip
    if ip.version == 4:
        src = ip if ip.is_loopback else config.eth0.ip if config.mode == "sandbox" else \
            ipaddress.IPv4Address("127.0.0.1")
        if family == socket.AF_INET6:
            return InetAddress(family, ipaddress.IPv6Address(f"::ffff:{src}"), 0)
        return InetAddress(family, src, 0)
    return InetAddress(family, ipaddress.IPv6Address("::1"), 0)
