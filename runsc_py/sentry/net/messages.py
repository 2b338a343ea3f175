"""Data calls the sentry takes part in: those with addresses or control messages.

send/recv without an address run natively (the filter lets sendto and
recvfrom with a NULL address through: registers only). The sentry handles:
  - sendto with an address, and every sendmsg and sendmmsg: it sends from
    its copy of the workload's socket and its own copy of the msghdr, since
    the kernel would re-read msg_name and msg_control after the sentry
    looked (no check-then-continue); a datagram with an address goes to the
    destination's sentry name;
  - recvfrom/recvmsg with an address: it receives and reports the sandbox
    address of the sender;
  - recvmsg always, so SCM_RIGHTS fds land in the sentry's fd table too.
    The sentry notes which open file each fd it passes is (by inode), so
    the receiver's table gets the same OpenFile.
A receive that would block is parked until the host socket is readable.
"""
from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import select
import socket
import stat as statmod
import struct
import time

from runsc_py.platform import HELD, NATIVE, FdInstall, InstallFds
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import OpenFile
from runsc_py.sentry.net import ancillary, sockaddr
from runsc_py.sentry.net.hostsock import borrowed
from runsc_py.sentry.net.stack import _loopback_for_wildcard, write_address
from runsc_py.sentry.net.waits import socket_timeout_ns

MSGHDR = struct.Struct("<QI4xQQQQi4x")   # name namelen iov iovlen control controllen flags
IOVEC = struct.Struct("<QQ")
CMSGHDR = struct.Struct("<QiI")          # len level type
SCM_RIGHTS, SCM_CREDENTIALS = 1, 2
MSG_PEEK, MSG_DONTWAIT, MSG_TRUNC, MSG_CTRUNC, MSG_WAITALL = 2, 0x40, 0x20, 0x8, 0x100
MSG_CMSG_CLOEXEC, MSG_WAITFORONE, MSG_FASTOPEN = 0x40000000, 0x10000, 0x20000000
MSG_ERRQUEUE = 0x2000
MSG_NOSIGNAL, SIGPIPE = 0x4000, 13
CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN = 6, 7, 21
MMSGHDR_SIZE = 64
RECV_FLAGS = MSG_PEEK | MSG_WAITALL | 1  # MSG_OOB
SEND_FLAGS = 0x4000 | 1 | 4 | 0x8000     # MSG_NOSIGNAL, MSG_OOB, MSG_DONTROUTE, MSG_MORE
IOV_MAX = 1024
MAX_DATAGRAM = 1 << 20
STREAM_CHUNK = 1 << 22
RECEIVE_MAX = 1 << 22    # a receive through the sentry returns at most this much (a short read)
MAX_ALIASES = 256       # senders' aliases carrying per-packet IP values (all dropped past it)
CONTROL_MAX = 1 << 16   # a stream send through the sentry moves at most this much per call


class Messages:
    def __init__(self, network):
        self.network = network
        self.kernel = network.kernel
        self._in_flight: dict[tuple[int, int], list[OpenFile]] = {}
        self._aliases: dict[tuple, tuple] = {}   # (id(sender), packet values) -> (sender, alias)
        self.packet_values: dict[bytes, dict] = {}         # alias name -> packet values

    # -- sending ---------------------------------------------------------

    def sendto(self, ctx, fd: int, buf: int, length: int, flags: int, addr_ptr: int, addr_len: int):
        sock = self.network.socket_of(ctx, fd)
        if sock.netlink is not None:
            self.network.netlink_request(sock, ctx.read(buf, min(length, 1 << 16)))
            return length
        self._refuse_fastopen(sock, flags)
        if not addr_ptr:   # the kernel sees only registers (the filter lets these run itself)
            self._refuse_unaddressed(ctx, sock, flags)
            return NATIVE
        # With an address, never native: the kernel would re-read it after the sentry looked.
        if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
            # unix_stream_sendmsg takes no address: EISCONN connected, else EOPNOTSUPP
            raise SyscallError(errno.EISCONN if sock.peer is not None else errno.EOPNOTSUPP)
        if sock.stream:  # TCP ignores the address
            return self._send_stream(ctx, fd, ctx.read(buf, min(length, STREAM_CHUNK)), flags)
        dest = sockaddr.decode(ctx.read(addr_ptr, min(addr_len, 128)), sock.family)
        data = ctx.read(buf, min(length, MAX_DATAGRAM))
        if sock.backing == "host":   # --network=host: the host's address, sent from the copy
            return self._now_or_parked(ctx, fd, flags, select.EPOLLOUT, lambda s: self._signalling(
                ctx, flags, lambda: s.sendto(data, (flags & SEND_FLAGS) | MSG_DONTWAIT,
                                             _host_address(dest))))
        return self._send_datagram(ctx, fd, sock, data, dest, flags, [])

    def sendmsg(self, ctx, fd: int, msg_ptr: int, flags: int):
        """Always by the sentry, from its one copy of the msghdr: the kernel would
        re-read msg_name and msg_control (which name a destination and fds)
        after the sentry looked, and another thread can set them in between.
        A blocking stream send waits for room for all of it, as Linux's does."""
        sock = self.network.socket_of(ctx, fd)
        header = self._header(ctx, msg_ptr)
        if sock.netlink is not None:
            _name, _namelen, iov, iovlen, *_ = header
            data = b"".join(ctx.read(base, n) for base, n in self._iovecs(ctx, iov, iovlen) if n)
            self.network.netlink_request(sock, data)
            return len(data)
        self._refuse_fastopen(sock, flags)
        if not header[0]:
            self._refuse_unaddressed(ctx, sock, flags)
        done = [0]   # bytes of a blocking stream send already sent

        def send(s: socket.socket):
            wait = sock.stream and not flags & MSG_DONTWAIT and os.get_blocking(s.fileno())
            n, whole = self._send_by_sentry(ctx, s, fd, sock, header, flags, done[0])
            done[0] += n
            if wait and done[0] < whole:
                raise BlockingIOError(errno.EAGAIN, "waiting for room for the rest")
            return done[0]

        return self._now_or_parked(ctx, fd, flags, select.EPOLLOUT, send)

    def _refuse_unaddressed(self, ctx, sock, flags: int) -> None:
        """A send naming no address on a sandbox inet socket that has no
        peer: its host socket (an unconnected unix one) would say ENOTCONN,
        where Linux's UDP says EDESTADDRREQ and its TCP EPIPE with SIGPIPE
        (tcp_sendmsg: neither connected nor connecting)."""
        if not sock.inet or sock.backing != "sandbox" or sock.peer is not None \
                or sock.connecting:
            return
        if not sock.stream:
            raise SyscallError(errno.EDESTADDRREQ)
        self._signalling(ctx, flags, _broken_pipe)

    def _signalling(self, ctx, flags: int, send):
        """send(), raising SIGPIPE in the caller on a broken stream, as the kernel
        would have (the sentry itself ignores SIGPIPE)."""
        try:
            return send()
        except BrokenPipeError:
            if not flags & MSG_NOSIGNAL:
                self.kernel.sent_on_behalf(ctx.process, SIGPIPE, ctx.process)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(ctx.task.host_tid, SIGPIPE)
            raise

    def _packet_options(self, ctx, sock, control: int, controllen: int) -> dict:
        """A sandbox UDP socket's per-packet IP options from a sendmsg's control
        messages (ancillary.py); EINVAL for ones Linux refuses."""
        if not (sock.inet and not sock.stream and sock.backing == "sandbox") \
                or not control or controllen < CMSGHDR.size:
            return {}
        return ancillary.packet_options(_cmsgs(ctx.read(control, min(controllen, 1 << 16))),
                                        sock.family)

    def _credentials(self, ctx, control: int, controllen: int) -> list:
        """SCM_CREDENTIALS for a message the sentry sends on a unix socket: the
        caller's claim, checked with the sandbox's ids as Linux checks it
        (its own pid, one of its uids and gids, unless privileged), or else
        its own ids; the pid goes as its host pid, so the receiving side
        (the sentry's recvmsg) maps it back. A receiver without SO_PASSCRED
        gets none, as from the kernel."""
        creds = ctx.process.creds
        pid, uid, gid = ctx.process.vpid, creds.euid, creds.egid
        if control and controllen >= CMSGHDR.size:
            for level, kind, payload in _cmsgs(ctx.read(control, min(controllen, 1 << 16))):
                if level == socket.SOL_SOCKET and kind == SCM_CREDENTIALS and len(payload) >= 12:
                    pid, uid, gid = struct.unpack_from("<iII", payload)
                    if pid != ctx.process.vpid and not creds.capable(CAP_SYS_ADMIN) \
                            or uid not in (creds.uid, creds.euid, creds.suid) and not creds.capable(CAP_SETUID) \
                            or gid not in (creds.gid, creds.egid, creds.sgid) and not creds.capable(CAP_SETGID):
                        raise SyscallError(errno.EPERM)
        host_pid = self.kernel.tasks.host_pid_of(pid)
        if host_pid is None:
            raise SyscallError(errno.ESRCH)
        return [(socket.SOL_SOCKET, SCM_CREDENTIALS, struct.pack("<iII", host_pid, uid, gid))]

    def _refuse_fastopen(self, sock, flags: int) -> None:
        """MSG_FASTOPEN connects a host TCP socket to the message's address: not outside
        the sentry's connect (an egress socket whose connect failed could reach anything)."""
        if flags & MSG_FASTOPEN and self.network.config.mode != "host":
            raise SyscallError(errno.EOPNOTSUPP)

    def _send_stream(self, ctx, fd: int, data: bytes, flags: int):
        """Send on a stream from the sentry's copy; a blocking caller waits for room."""
        return self._now_or_parked(ctx, fd, flags, select.EPOLLOUT, lambda s: self._signalling(
            ctx, flags, lambda: s.send(data, (flags & SEND_FLAGS) | MSG_DONTWAIT)))

    def _send_datagram(self, ctx, fd: int, sock, data: bytes, dest, flags: int, rights: list[int],
                       packet: dict | None = None):
        try:
            if sock.inet and dest.port == 0:
                raise SyscallError(errno.EINVAL)   # udp_sendmsg: no port to send to
            targets = self.network.datagram_targets(ctx, sock, dest)
            if sock.inet and sock.local is None:
                self.network._choose_local(sock, dest)
            self.network._bind_host_name(ctx, fd, sock, "d")
            anc = [(socket.SOL_SOCKET, SCM_RIGHTS, struct.pack(f"<{len(rights)}i", *rights))] \
                if rights else []
            if len(targets) == 1:
                return self._send_one(ctx, fd, sock, data, dest, flags, anc, packet, targets[0])
            for target in targets:   # a group or a broadcast: each gets its copy, or loses it
                self._send_one(ctx, fd, sock, data, dest, flags, anc, packet, target)
            return len(data)   # (none: nobody has the port, the datagram is lost as UDP's are)
        finally:
            for host_fd in rights:
                os.close(host_fd)

    def _send_one(self, ctx, fd: int, sock, data: bytes, dest, flags: int, anc, packet, target):
        packet = dict(packet or {})
        if sock.inet and target.local is not None and (
                ancillary.wants(target) and (target.local.ip.is_unspecified or target.local.ip.is_multicast)
                or sock.local is not None and sock.local.ip.is_unspecified and target.local.ip.is_unspecified
                and not _loopback_for_wildcard(dest).ip.is_loopback):
            # the receiver cannot tell which of its addresses was named: for its PKTINFO,
            # and for the source address a wildcard-bound sender has
            packet["dst"] = _loopback_for_wildcard(dest).ip
        if packet and sock.inet:
            alias = self._alias(sock, packet)
            try:
                return alias.sendmsg([data], anc, (flags & SEND_FLAGS) | MSG_DONTWAIT, target.host_name)
            except (BlockingIOError, ConnectionRefusedError):
                return len(data)
            except PermissionError:
                pass   # the receiver is connected to the sender's own name: sent from it, plain
        try:
            with borrowed(self.kernel, ctx.task, fd) as s:
                return s.sendmsg([data], anc, (flags & SEND_FLAGS) | MSG_DONTWAIT, target.host_name)
        except (BlockingIOError, ConnectionRefusedError):
            return len(data) if sock.inet else -errno.EAGAIN
        except PermissionError:
            if not sock.inet:
                raise
            return len(data)   # a receiver connected elsewhere does not take it, as UDP's would not

    def _alias(self, sock, packet: dict) -> socket.socket:
        """A socket standing for `sock` that sends datagrams carrying `packet`'s
        IP-level values: bound to a sentry name the receiver maps to both."""
        key = (id(sock), tuple(sorted(packet.items(), key=lambda kv: kv[0])))
        owner, alias = self._aliases.get(key, (None, None))
        if owner is sock:
            return alias
        if alias is not None:   # an earlier socket's, whose id this one reuses
            self._drop_alias(self._aliases.pop(key)[1])
        if len(self._aliases) >= MAX_ALIASES:
            self._forget_aliases()
        net = self.network
        alias = socket.socket(fileno=net.host.sandbox_socket(socket.SOCK_DGRAM))
        name = net.host.unique_name("a")
        alias.bind(name)
        self._aliases[key] = (sock, alias)
        self.packet_values[name] = packet
        net.by_host_name[name] = sock
        return alias

    def _forget_aliases(self) -> None:
        for _owner, alias in self._aliases.values():
            self._drop_alias(alias)
        self._aliases.clear()

    def _drop_alias(self, alias: socket.socket) -> None:
        name = alias.getsockname()
        name = name if isinstance(name, bytes) else name.encode("latin-1")
        self.packet_values.pop(name, None)
        self.network.by_host_name.pop(name, None)
        alias.close()

    def in_flight(self, sock) -> bool:
        """Whether an SCM_RIGHTS message not yet received carries an fd of `sock`."""
        return any(getattr(file, "sock", None) is sock
                   for files in self._in_flight.values() for file in files)

    def _note_rights(self, ctx, control: int, controllen: int) -> list[int]:
        """Remember the open files an SCM_RIGHTS message passes; returns sentry copies of them."""
        if not control or controllen < CMSGHDR.size:
            return []
        raw = ctx.read(control, min(controllen, 1 << 16))
        out: list[int] = []
        for level, kind, payload in _cmsgs(raw):
            if level != socket.SOL_SOCKET or kind != SCM_RIGHTS:
                continue
            for (guest_fd,) in struct.iter_unpack("<i", payload[: len(payload) // 4 * 4]):
                entry = ctx.fds.get(guest_fd)
                host_fd = self.kernel.borrow_fd(ctx.task, guest_fd)
                st = os.fstat(host_fd)
                self._in_flight.setdefault((st.st_dev, st.st_ino), []).append(entry.file)
                out.append(host_fd)
        return out

    # -- receiving ---------------------------------------------------------

    def recvfrom(self, ctx, fd: int, buf: int, length: int, flags: int, addr_ptr: int, len_ptr: int):
        sock = self.network.socket_of(ctx, fd)
        if not addr_ptr or (sock.backing == "host" and self.network.config.mode == "host"):
            return NATIVE

        def receive(s: socket.socket):
            full = _datagram_length(s, sock, flags)
            data, anc, mflags, source = s.recvmsg(min(length, RECEIVE_MAX), 0,
                                                   (flags & RECV_FLAGS) | MSG_DONTWAIT)
            ctx.write(buf, data)
            if sock.stream:
                ctx.write(len_ptr, b"\0\0\0\0")   # TCP reports no address
            else:
                write_address(ctx, addr_ptr, len_ptr, self._source(sock, source))
            return len(data) if full is None else full

        return self._receive(ctx, fd, flags, receive)

    def recvmsg(self, ctx, fd: int, msg_ptr: int, flags: int):
        sock = self.network.socket_of(ctx, fd)
        if flags & MSG_ERRQUEUE and sock.backing != "host":
            # Linux's error queue never blocks; the sandbox's network queues no
            # errors (no ICMP between its sockets: net/sink.py), so it is empty
            raise SyscallError(errno.EAGAIN)
        header = self._header(ctx, msg_ptr)

        def receive(s: socket.socket):
            n, installs = self._receive_one(ctx, s, sock, msg_ptr, header, flags)
            return InstallFds(n, installs) if installs else n

        return self._receive(ctx, fd, flags, receive)

    def recvmmsg(self, ctx, fd: int, vec: int, vlen: int, flags: int, timeout_ptr: int = 0):
        """Up to vlen messages, with Linux's rules (recvmmsg(2), BUGS): a blocking
        call waits for each of the vlen messages in turn (MSG_WAITFORONE: for the
        first only); the timeout is checked after each message arrives, never
        while waiting, and what is left of it is written back."""
        sock = self.network.socket_of(ctx, fd)
        vlen = min(vlen, IOV_MAX)
        deadline = None
        if timeout_ptr:
            sec, nsec = struct.unpack("<qq", ctx.read(timeout_ptr, 16))
            if sec < 0 or not 0 <= nsec < 1_000_000_000:
                raise SyscallError(errno.EINVAL)
            deadline = time.monotonic_ns() + sec * 1_000_000_000 + nsec
        headers = [self._header(ctx, vec + i * MMSGHDR_SIZE) for i in range(vlen)]
        done: list = [0, []]   # messages received so far, fds to install (across parked waits)

        def finish():
            count, installs = done
            if deadline is not None and count:
                left = max(deadline - time.monotonic_ns(), 0)
                ctx.write(timeout_ptr, struct.pack("<qq", left // 1_000_000_000, left % 1_000_000_000))
            return InstallFds(count, installs) if installs else count

        def receive(s: socket.socket):
            wait = not (flags & MSG_DONTWAIT) and os.get_blocking(s.fileno())
            while done[0] < vlen:
                i = done[0]
                waiting = i > 0 and (flags & MSG_WAITFORONE or not wait)
                try:
                    n, more = self._receive_one(ctx, s, sock, vec + i * MMSGHDR_SIZE, headers[i],
                                                (flags & ~MSG_WAITFORONE) | (MSG_DONTWAIT if waiting else 0))
                except BlockingIOError:
                    if i == 0 or wait and not flags & MSG_WAITFORONE:
                        raise   # nothing yet, or a blocking call waits for the next one
                    break
                except OSError:
                    if i == 0:
                        raise
                    break       # Linux returns what it has; the error is lost here
                ctx.write(vec + i * MMSGHDR_SIZE + MSGHDR.size, struct.pack("<I", n))
                done[0] += 1
                done[1] += more
                if deadline is not None and time.monotonic_ns() >= deadline:
                    break
            return finish()

        return self._receive(ctx, fd, flags, receive)

    def sendmmsg(self, ctx, fd: int, vec: int, vlen: int, flags: int):
        """Each message sent by the sentry from its copy of the socket; a blocking
        caller waits for room for each in turn, as Linux's does."""
        sock = self.network.socket_of(ctx, fd)
        vlen = min(vlen, IOV_MAX)
        sent = [0, 0]   # messages sent, bytes of the next one already sent (a blocking stream)

        def send(s: socket.socket):
            wait = not (flags & MSG_DONTWAIT) and os.get_blocking(s.fileno())
            while sent[0] < vlen:
                msg_ptr = vec + sent[0] * MMSGHDR_SIZE
                try:
                    n, whole = self._send_by_sentry(ctx, s, fd, sock, msg_ptr, flags, sent[1])
                except BlockingIOError:
                    if sent[0] == 0 and not sent[1] or wait:
                        raise
                    break
                except (SyscallError, OSError):
                    if sent[0] == 0:
                        raise
                    break
                if sock.stream and wait and sent[1] + n < whole:
                    sent[1] += n
                    raise BlockingIOError(errno.EAGAIN, "waiting for room for the rest")
                ctx.write(msg_ptr + MSGHDR.size, struct.pack("<I", sent[1] + n))
                sent[0] += 1
                sent[1] = 0
            return sent[0]

        return self._now_or_parked(ctx, fd, flags, select.EPOLLOUT, send)

    def _send_by_sentry(self, ctx, s: socket.socket, fd: int, sock, msg, flags: int,
                        offset: int = 0) -> tuple[int, int]:
        """One message of a sendmsg or sendmmsg (`msg`: the sentry's copy of its
        msghdr, or the address of one to copy), from `s` (the sentry's copy of
        the caller's socket), from byte `offset` on: (bytes sent, the message's
        length). BlockingIOError when there is no room yet."""
        self._refuse_fastopen(sock, flags)
        header = msg if isinstance(msg, tuple) else self._header(ctx, msg)
        name, namelen, iov, iovlen, control, controllen, _ = header
        data = b"".join(ctx.read(base, n) for base, n in self._iovecs(ctx, iov, iovlen) if n)
        if sock.netlink is not None:
            self.network.netlink_request(sock, data)
            return len(data), len(data)
        packet = self._packet_options(ctx, sock, control, controllen)
        rights = self._note_rights(ctx, control, controllen) if not offset else []
        # (a connected sandbox UDP socket's peer may have no socket, where
        # Linux's datagram is sent and lost: the host socket is unconnected)
        if (name or sock.peer is not None and (packet or sock.inet)) and not sock.stream \
                and sock.backing != "host":
            dest = sockaddr.decode(ctx.read(name, min(namelen, 128)), sock.family) if name else sock.peer
            result = self._send_datagram(ctx, fd, sock, data, dest, flags, rights, packet)
            if result == -errno.EAGAIN:
                raise BlockingIOError(errno.EAGAIN, "no room")
            if result < 0:
                raise SyscallError(-result)
            return result, len(data)
        anc = [(socket.SOL_SOCKET, SCM_RIGHTS, struct.pack(f"<{len(rights)}i", *rights))] if rights else []
        if sock.family == socket.AF_UNIX and sock.backing != "host":
            anc += self._credentials(ctx, control, controllen)
        address = ()
        if name and not sock.stream and sock.backing == "host":   # --network=host's UDP
            address = (_host_address(sockaddr.decode(ctx.read(name, min(namelen, 128)), sock.family)),)
        try:
            return self._signalling(ctx, flags, lambda: s.sendmsg(
                [data[offset:]], anc, (flags & SEND_FLAGS) | MSG_DONTWAIT, *address)), len(data)
        finally:
            for host_fd in rights:
                os.close(host_fd)

    @staticmethod
    def _header(ctx, msg_ptr: int) -> tuple:
        return MSGHDR.unpack(ctx.read(msg_ptr, MSGHDR.size))

    def _receive_one(self, ctx, s: socket.socket, sock, msg_ptr: int, header: tuple, flags: int):
        """One recvmsg on the sentry's copy, written back into the caller's msghdr."""
        name, namelen, iov, iovlen, control, controllen, _ = header
        vecs = self._iovecs(ctx, iov, iovlen)
        total = min(sum(n for _, n in vecs), RECEIVE_MAX)
        full = _datagram_length(s, sock, flags)
        data, anc, mflags, source = s.recvmsg(total, min(max(controllen, 0), CONTROL_MAX),
                                               (flags & RECV_FLAGS) | MSG_DONTWAIT
                                               | (flags & MSG_CMSG_CLOEXEC))
        pos = 0
        for base, n in vecs:
            if pos >= len(data):
                break
            ctx.write(base, data[pos:pos + n])
            pos += n
        new_namelen = 0
        if name and not sock.stream:
            raw = sockaddr.encode(self._source(sock, source))
            ctx.write(name, raw[:namelen])
            new_namelen = len(raw)
        sender = self.network.by_host_name.get(source) if isinstance(source, bytes) else None
        if sock.inet and not sock.stream and sock.backing == "sandbox" and ancillary.wants(sock):
            origin = self._source(sock, source)
            ipv4 = origin.family == socket.AF_INET or origin.ip.ipv4_mapped is not None
            anc = list(anc) + ancillary.received(sock, sender, self.packet_values.get(source, {}),
                                                 ipv4, self.network.config)
        control_out, installs, mflags = self._translate_control(ctx, anc, controllen, mflags, flags,
                                                                sender)
        if control_out:
            ctx.write(control, control_out)
        ctx.write(msg_ptr, MSGHDR.pack(name, new_namelen, iov, iovlen, control, len(control_out), mflags))
        return (len(data) if full is None else full), installs

    def _receive(self, ctx, fd: int, flags: int, receive):
        """Run receive(s) on the sentry's copy of the socket now, or park until readable."""
        return self._now_or_parked(ctx, fd, flags, select.EPOLLIN, receive)

    def _now_or_parked(self, ctx, fd: int, flags: int, events: int, attempt):
        """attempt(s) on the sentry's copy of the caller's socket now; if it would
        block, EAGAIN for a non-blocking caller, else park the call until the
        socket is ready for `events` and answer it then (the loop never waits)."""
        host_fd = self.kernel.borrow_fd(ctx.task, fd)
        s = socket.socket(fileno=host_fd)
        try:
            result = attempt(s)
            s.close()
            return result
        except BlockingIOError:
            if flags & MSG_DONTWAIT or not os.get_blocking(host_fd):
                s.close()
                raise SyscallError(errno.EAGAIN) from None
        except BaseException:
            s.close()
            raise
        call, platform = ctx.call, self.kernel.platform

        def ready() -> bool:
            if not platform.still_valid(call):
                return True
            try:
                result = attempt(s)
            except BlockingIOError:
                return False
            except SyscallError as exc:
                result = -exc.errno
            except OSError as exc:
                result = -(exc.errno or errno.EIO)
            platform.complete(call, result)
            return True

        self.network.waits.park(s, events, ready, call, timeout_ns=socket_timeout_ns(s, events))
        return HELD

    def _source(self, sock, source):
        if sock.netlink is not None:
            return sockaddr.NetlinkAddress(0)
        if sock.backing == "host":
            return sockaddr.from_host(sock.family, source)
        if sock.family == socket.AF_UNIX:
            name = source if isinstance(source, bytes) else (source or "").encode("latin-1")
            sender = self.network.by_host_name.get(name)
            if sender is not None and sender.local is not None and sender.local.name:
                return sender.local
            return None   # an unbound sender: no address at all (a length of 0), as on Linux
        name = source if isinstance(source, bytes) else (source or "").encode("latin-1")
        origin = self.network.address_of_host_name(sock.family, name)
        return self._as_seen_by(sock, origin, self.packet_values.get(name, {}))

    def _as_seen_by(self, receiver, origin, packet: dict):
        """A sender's address as the receiver's recvfrom reports it: a wildcard
        bound sender has the source address Linux's route gives (the address it
        sent to, on this one host), and a v4 address is v4-mapped for a v6
        receiver (and back)."""
        if not isinstance(origin, sockaddr.InetAddress):
            return origin
        if origin.ip.is_unspecified and origin.port:
            dst = ancillary.destination(receiver, None, packet)
            v4 = dst if dst.version == 4 else dst.ipv4_mapped
            if origin.family == socket.AF_INET and v4 is not None:
                origin = sockaddr.InetAddress(socket.AF_INET, v4, origin.port)
            elif origin.family == socket.AF_INET6:
                ip6 = dst if v4 is None else ipaddress.IPv6Address(f"::ffff:{v4}")
                origin = sockaddr.InetAddress(socket.AF_INET6, ip6, origin.port)
        if origin.family == receiver.family:
            return origin
        if receiver.family == socket.AF_INET6:
            return sockaddr.InetAddress(socket.AF_INET6, ipaddress.IPv6Address(f"::ffff:{origin.ip}"),
                                        origin.port)
        v4 = origin.ip.ipv4_mapped
        return sockaddr.InetAddress(socket.AF_INET, v4 if v4 is not None else ipaddress.IPv4Address(0),
                                    origin.port)

    def _virtual_credentials(self, payload: bytes, sender) -> bytes | None:
        """SCM_CREDENTIALS as the receiver's pid namespace sees them.

        The sentry received the message, so the kernel gave the sender's host
        pid; a datagram the sentry itself sent carries the sentry's pid, and
        then the sending socket's owner is the sender.
        """
        if len(payload) < 12:
            return None
        pid, uid, gid = struct.unpack_from("<iII", payload)
        task = self.kernel.tasks.by_host_tid.get(pid)
        if task is not None:
            return struct.pack("<iII", task.process.vpid, uid, gid)
        if pid == os.getpid() and sender is not None and sender.creds is not None:
            c = sender.creds
            return struct.pack("<iII", c.pid, c.uid, c.gid)
        return struct.pack("<iII", _namespace_pid(pid), uid, gid)

    def _translate_control(self, ctx, anc, room: int, mflags: int, flags: int, sender=None):
        """The control messages as the workload sees them, and the fds to install."""
        out = b""
        installs: list[FdInstall] = []
        cloexec = bool(flags & MSG_CMSG_CLOEXEC)
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SCM_RIGHTS:
                host_fds = [fd for (fd,) in struct.iter_unpack("<i", payload[: len(payload) // 4 * 4])]
                guest = []
                start = 0
                for host_fd in host_fds:
                    gfd = ctx.fds.lowest_free(start)
                    start = gfd + 1
                    ctx.fds.install(gfd, self._file_received(host_fd), cloexec)
                    installs.append(FdInstall(host_fd, gfd, cloexec))
                    guest.append(gfd)
                payload = struct.pack(f"<{len(guest)}i", *guest)
            elif level == socket.SOL_SOCKET and kind == SCM_CREDENTIALS:
                payload = self._virtual_credentials(payload, sender)
                if payload is None:
                    continue
            if level == socket.SOL_SOCKET and kind == SCM_RIGHTS:
                msg = CMSGHDR.pack(CMSGHDR.size + len(payload), level, kind) + payload
                msg += bytes(-len(msg) % 8)
                if len(out) + len(msg) > room:
                    mflags |= MSG_CTRUNC
                    break
                out += msg
                continue
            msg, truncated = ancillary.put_cmsg(level, kind, payload, room - len(out))
            out += msg
            if truncated:
                mflags |= MSG_CTRUNC
                break
        return out, installs, mflags

    def _file_received(self, host_fd: int) -> OpenFile:
        st = os.fstat(host_fd)
        queue = self._in_flight.get((st.st_dev, st.st_ino))
        if queue:
            file = queue.pop(0)
            if not queue:
                del self._in_flight[(st.st_dev, st.st_ino)]
            return file
        kind = "pipe" if statmod.S_ISFIFO(st.st_mode) else "file"
        return OpenFile(kind, path=f"anon:[{st.st_ino}]", flags=os.O_RDWR)

    @staticmethod
    def _iovecs(ctx, iov: int, iovlen: int) -> list[tuple[int, int]]:
        if iovlen > IOV_MAX:
            raise SyscallError(errno.EMSGSIZE)
        if not iovlen:
            return []
        raw = ctx.read(iov, IOVEC.size * iovlen)
        return [IOVEC.unpack_from(raw, i * IOVEC.size) for i in range(iovlen)]


def _host_address(dest):
    """A --network=host socket's destination as the host takes it (EINVAL if none)."""
    if dest is None:
        raise SyscallError(errno.EINVAL)
    return sockaddr.to_host(dest)


def _namespace_pid(host_pid: int) -> int:
    """A sender that already exited (a zombie still has NSpid); 0 when it is gone,
    as Linux reports a pid the receiver's namespace cannot name."""
    try:
        with open(f"/proc/{host_pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return 0


def _cmsgs(raw: bytes):
    pos = 0
    while pos + CMSGHDR.size <= len(raw):
        length, level, kind = CMSGHDR.unpack_from(raw, pos)
        if length < CMSGHDR.size or pos + length > len(raw):
            break
        yield level, kind, raw[pos + CMSGHDR.size: pos + length]
        pos += (length + 7) & ~7


def _datagram_length(s: socket.socket, sock, flags: int) -> int | None:
    """With MSG_TRUNC, a datagram socket's receive returns the datagram's whole
    length, however little was copied (`ip` sizes its netlink buffer so, with
    an empty one and MSG_PEEK): peeked first, which the host answers with that
    length (one byte: Python returns 0 for a zero-length receive without asking).
    None otherwise (the copied length)."""
    if not flags & MSG_TRUNC or sock.stream:
        return None
    return s.recv_into(bytearray(1), 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT)


def _broken_pipe():
    raise BrokenPipeError(errno.EPIPE, "not connected")
