"""ancillary.py: the control messages the sentry writes, as Linux's put_cmsg does,
and the per-packet values a sendmsg may carry, checked as Linux checks them."""
import errno
import socket
import struct

import pytest

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.net import ancillary


def test_put_cmsg_whole_padded_and_truncated():
    payload = struct.pack("<i", 7)
    whole, cut = ancillary.put_cmsg(41, 52, payload, 1024)
    assert (len(whole), cut) == (socket.CMSG_SPACE(4), False)
    assert struct.unpack_from("<QiI", whole) == (socket.CMSG_LEN(4), 41, 52)
    assert ancillary.put_cmsg(41, 52, payload, socket.CMSG_LEN(0) - 1) == (b"", True)
    part, cut = ancillary.put_cmsg(41, 52, payload, socket.CMSG_LEN(4) - 1)
    assert cut and len(part) == socket.CMSG_LEN(4) - 1
    assert struct.unpack_from("<Q", part)[0] == socket.CMSG_LEN(4) - 1   # cmsg_len says what fit
    exact, cut = ancillary.put_cmsg(41, 52, payload, socket.CMSG_LEN(4))
    assert not cut and len(exact) == socket.CMSG_LEN(4)                   # no room for padding: none


@pytest.mark.parametrize("cmsg, family, expected", [
    ((0, 2, struct.pack("i", 3)), socket.AF_INET, {"ttl": 3}),
    ((0, 1, bytes([0x28])), socket.AF_INET, {"tos": 0x28}),
    ((0, 1, struct.pack("i", 0x10)), socket.AF_INET, {"tos": 0x10}),
    ((41, 52, struct.pack("i", 2)), socket.AF_INET6, {"hoplimit": 2}),
    ((41, 67, struct.pack("i", -1)), socket.AF_INET6, {"tclass": 255}),  # -1: 255, as Linux 6.x sends it
    ((41, 52, struct.pack("i", 2)), socket.AF_INET, {}),            # SOL_IPV6 on a v4 socket: ignored
])
def test_packet_options(cmsg, family, expected):
    assert ancillary.packet_options([cmsg], family) == expected


@pytest.mark.parametrize("cmsg, family", [
    ((0, 2, struct.pack("i", 0)), socket.AF_INET),                 # TTL 0
    ((0, 2, struct.pack("i", 256)), socket.AF_INET),
    ((41, 67, struct.pack("i", 1) + b"\0"), socket.AF_INET6),      # odd size
    ((41, 52, struct.pack("i", -2)), socket.AF_INET6),
])
def test_packet_options_refused(cmsg, family):
    with pytest.raises(SyscallError) as exc:
        ancillary.packet_options([cmsg], family)
    assert exc.value.errno == errno.EINVAL
