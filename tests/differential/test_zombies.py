"""Zombies, natively and sandboxed: an exited child stays in /proc (state Z),
in `ps`, under kill's permission check and under a new parent until it is
reaped (sentry/zombies.py); see also test_limits.py for RLIMIT_NPROC."""
import os

import pytest

from tests.conftest import PROGRAMS
from tests.differential.compare import assert_same


@pytest.mark.skipif(os.geteuid() != 0, reason="the native side must start as root to change ids")
def test_zombies_until_reaped(platform, busybox):
    assert_same(platform, ["python3", str(PROGRAMS / "zombies.py"), busybox])
