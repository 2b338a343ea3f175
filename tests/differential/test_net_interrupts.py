"""Signals end socket waits as on Linux (tests/programs/net_interrupts.c).

accept, recv, recvfrom and recvmsg on 127.0.0.1 (TCP and UDP), natively and
sandboxed on both platforms: a handler without SA_RESTART gives EINTR, one
with it makes the call again, a fatal signal kills. Sandboxed these are
three different paths: a parked accept, recvfrom and recvmsg wait in the
sentry (sentry/net/waits.py, interrupted through sentry/interrupts.py); a
recv is a recvfrom without an address that runs natively, whose EINTR
the sentry must leave alone. The program waits by process state, never by
time; the timeout only bounds a regression.
"""
import pytest

from tests.conftest import run, sandboxed


@pytest.fixture(scope="module")
def native(program):
    result = run([program("net_interrupts")], timeout=60)
    assert result.code == 0, result
    assert result.out.count(b"EINTR") == 8, result
    return result.out


def test_socket_waits_end_on_signals(platform, program, native):
    r = sandboxed(platform, program("net_interrupts"), timeout=60)
    assert r.code == 0, r
    assert r.out == native, r
