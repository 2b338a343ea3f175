"""Socket syscalls: thin shims over the network table (runsc_py/sentry/net/).

Each decodes its arguments and asks `ctx.kernel.network`; a call the host
can finish on the workload's own socket (a host-backed socket's control
calls, a send without an address) comes back as NATIVE.
"""
from __future__ import annotations

import errno

from runsc_py.platform import NATIVE
from runsc_py.sentry.errors import SyscallError
from runsc_py.syscalls.context import SyscallContext, as_int

# runsc_py.sentry.net is imported by the calls that need it, not with the
# table: most sandboxes never make a socket, and it costs start-up time.

SOCKADDR_MAX = 128
OPTVAL_MAX = 4096


def _network(ctx: SyscallContext):
    network = getattr(ctx.kernel, "network", None)
    if network is None:
        raise SyscallError(errno.ENOSYS, "this sandbox has no network table")
    return network


def _sockaddr(ctx, addr: int, addrlen: int) -> bytes:
    addrlen = as_int(addrlen)
    if addrlen < 0 or addrlen > SOCKADDR_MAX:
        raise SyscallError(errno.EINVAL)
    return ctx.read(addr, addrlen)


def _native_if_none(result):
    return NATIVE if result is None else result


def socket(ctx, family, type_, protocol):
    return _network(ctx).socket(ctx, as_int(family), as_int(type_), as_int(protocol))


def socketpair(ctx, family, type_, protocol, sv):
    return _network(ctx).socketpair(ctx, as_int(family), as_int(type_), as_int(protocol), sv)


def bind(ctx, fd, addr, addrlen):
    return _native_if_none(_network(ctx).bind(ctx, as_int(fd), _sockaddr(ctx, addr, addrlen)))


def listen(ctx, fd, backlog):
    return _native_if_none(_network(ctx).listen(ctx, as_int(fd), as_int(backlog)))


def connect(ctx, fd, addr, addrlen):
    return _native_if_none(_network(ctx).connect(ctx, as_int(fd), _sockaddr(ctx, addr, addrlen)))


def accept(ctx, fd, addr, addrlen):
    return accept4(ctx, fd, addr, addrlen, 0)


def accept4(ctx, fd, addr, addrlen, flags):
    return _network(ctx).accept(ctx, as_int(fd), addr, addrlen, as_int(flags))


def getsockname(ctx, fd, addr, addrlen):
    return _name(ctx, _network(ctx).getsockname(ctx, as_int(fd)), addr, addrlen)


def getpeername(ctx, fd, addr, addrlen):
    return _name(ctx, _network(ctx).getpeername(ctx, as_int(fd)), addr, addrlen)


def _name(ctx, address, addr, addrlen):
    if address is None:
        return NATIVE
    from runsc_py.sentry.net.stack import write_address

    write_address(ctx, addr, addrlen, address)
    return 0


def shutdown(ctx, fd, how):
    sock = _network(ctx).socket_of(ctx, as_int(fd))
    sock.connecting = False   # Linux's inet_shutdown makes a connecting socket SS_CONNECTED
    return NATIVE  # the host socket (a socketpair end or a TCP socket) shuts down itself


def sendto(ctx, fd, buf, length, flags, addr, addrlen):
    return _network(ctx).messages.sendto(ctx, as_int(fd), buf, length, as_int(flags), addr,
                                         as_int(addrlen))


def recvfrom(ctx, fd, buf, length, flags, addr, addrlen):
    return _network(ctx).messages.recvfrom(ctx, as_int(fd), buf, length, as_int(flags), addr,
                                           addrlen)


def sendmsg(ctx, fd, msg, flags):
    return _network(ctx).messages.sendmsg(ctx, as_int(fd), msg, as_int(flags))


def recvmsg(ctx, fd, msg, flags):
    return _network(ctx).messages.recvmsg(ctx, as_int(fd), msg, as_int(flags))


def recvmmsg(ctx, fd, vec, vlen, flags, timeout):
    return _network(ctx).messages.recvmmsg(ctx, as_int(fd), vec, vlen & 0xFFFFFFFF, as_int(flags),
                                            timeout)


def sendmmsg(ctx, fd, vec, vlen, flags):
    return _network(ctx).messages.sendmmsg(ctx, as_int(fd), vec, vlen & 0xFFFFFFFF, as_int(flags))


def setsockopt(ctx, fd, level, name, value, length):
    sock = _network(ctx).socket_of(ctx, as_int(fd))
    length = as_int(length)
    if length < 0:
        raise SyscallError(errno.EINVAL)
    data = ctx.read(value, min(length, OPTVAL_MAX)) if length else b""
    from runsc_py.sentry.net import options

    return options.setsockopt(sock, as_int(level), as_int(name), data,
                              host_mode=ctx.kernel.network.config.mode == "host")


def getsockopt(ctx, fd, level, name, value, length_ptr):
    sock = _network(ctx).socket_of(ctx, as_int(fd))
    from runsc_py.sentry.net import options

    answer = options.getsockopt(sock, as_int(level), as_int(name))
    if answer is NATIVE:
        return NATIVE
    room = int.from_bytes(ctx.read(length_ptr, 4), "little", signed=True)
    if room < 0:
        raise SyscallError(errno.EINVAL)
    out = answer[:room]
    ctx.write(value, out)
    ctx.write(length_ptr, len(out).to_bytes(4, "little"))
    return 0
