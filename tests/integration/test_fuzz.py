"""Random syscalls with random arguments: the sentry never falls over.

Every syscall the sentry emulates is called with arguments from a fuzzer's
pool (bad pointers, garbage paths, random flags and fds). The workload may
see any errno; the sandbox must finish, and the sentry must log no error
of its own (a handler raising anything but SyscallError is a sentry bug).
"""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runsc_py.platform.policy import Policy
from runsc_py.syscalls.table import ROWS
from tests.conftest import sandboxed

# Calls that would end or replace the fuzzer itself, or change what the
# host enforces on it (rlimits, seccomp mode): not what this test is about.
EXCLUDED = {"execve", "execveat", "clone", "clone3", "kill", "tkill", "tgkill", "prctl",
            "setrlimit", "prlimit64", "fork", "vfork", "seccomp", "pidfd_send_signal",
            "rt_sigqueueinfo", "rt_tgsigqueueinfo",
            # a socket the fuzzer made and listened on can hold these forever: a
            # correct blocking wait, not a sentry fault (their error paths are in
            # tests/unit/test_net_table.py and tests/differential/test_sockets.py)
            "accept", "accept4", "recvfrom", "recvmsg", "recvmmsg"}
TARGETS = sorted(str(r.nr) for r in ROWS
                 if r.policy is Policy.TRAP and r.handler is not None and r.name not in EXCLUDED)


def fuzz(platform: str, program, seed: int, count: int) -> None:
    r = sandboxed(platform, program("fuzz"), hex(seed), str(count), *TARGETS, timeout=120)
    assert b"sentry error" not in r.err and b"Traceback" not in r.err, r.err.decode()[-3000:]
    assert r.code == 0, r


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(1, 2**63))
def test_random_syscalls(platform, program, seed):
    fuzz(platform, program, seed, 3000)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(1, 2**63))
def test_random_syscalls_campaign(platform, program, seed):
    fuzz(platform, program, seed, 20000)
