"""Credentials per thread, against Linux (tests/programs/thread_creds.py).

A raw setresuid and prctl(KEEPCAPS, NO_NEW_PRIVS) in one thread change that
thread only: the main thread, /proc/self/status (the leader's) and capget
of the main thread keep root's; a child or a thread the changed thread
makes starts with its credentials; glibc's setresuid (the call made in
every thread) leaves them all the same again. The program ends by its own
events; the timeout only bounds a regression.
"""
import sys

from tests.conftest import PROGRAMS, sandboxed
from tests.differential.compare import native_in_scratch

SCRIPT = str(PROGRAMS / "thread_creds.py")


def test_credentials_are_per_thread(platform, tmp_path):
    native = native_in_scratch([sys.executable, SCRIPT], str(tmp_path), timeout=60)
    assert native.code == 0 and b"main sees: (0, 0, 0)" in native.out, native
    inside = sandboxed(platform, sys.executable, SCRIPT, timeout=60)
    assert (inside.code, inside.out.decode().splitlines()) == (0, native.out.decode().splitlines()), \
        (native, inside)
