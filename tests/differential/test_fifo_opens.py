"""FIFO opens that wait for a partner, against Linux (tests/programs/fifos.c).

The sentry opens a FIFO for the workload; a blocking open made on its loop
would stop the whole sandbox until a partner came, and the partner could
only be another sandbox process: a hang. The program waits for its own
processes by their state, never by time, so the timeout here only bounds a
regression. Sandboxed on the three kinds of FIFO the sandbox has: one in a
sandbox tmpfs (the sentry's store), one in the memory overlay's upper layer
over the host root, and a host FIFO on a bind mount (the gofer's).
Natively in a private mount namespace, on a tmpfs mounted over the
scratch directory: nothing lands on the host.
"""
import pytest

from tests.conftest import sandboxed
from tests.differential.compare import FILE_BACKENDS, native_in_scratch, sandboxed_in_scratch


@pytest.fixture(scope="module")
def native(program, tmp_path_factory):
    result = native_in_scratch(program("fifos"), str(tmp_path_factory.mktemp("native")))
    assert result.code == 0, result
    assert b"reader SA_RESTART: opened" in result.out, result
    return result.out


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_fifo_opens_match_linux(platform, program, backend, native, tmp_path):
    r = sandboxed_in_scratch(platform, program("fifos"), backend, str(tmp_path), timeout=60)
    assert r.code == 0, r
    assert r.out == native, r


def test_shell_fifo(platform, busybox):
    """`mkfifo f; cat f & echo x > f` in a sandboxed shell (cat a child the
    shell waits for: `(cat f &)` would let the sandbox end before it prints)."""
    r = sandboxed(platform, busybox, "sh", "-c",
                  "cd /tmp && mkfifo f && { cat f & echo x > f; wait; } && rm f", timeout=60)
    assert (r.code, r.out) == (0, b"x\n"), r
