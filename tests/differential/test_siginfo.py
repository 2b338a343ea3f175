"""The pids and uids in every siginfo_t a workload reads, natively and sandboxed.

The host kernel fills si_uid with the host thread's uid, which is the
sandbox's host uid whatever uid the sender switched to in the sandbox: the
sentry puts the sandbox's uid back at the signal's delivery stop (handlers),
at the exit of waitid and rt_sigtimedwait (sigwaitinfo), and at the exit of
a signalfd read its own filter traced. Each sender in
tests/programs/siginfo_ids.c first takes a real uid of its own.
"""
import os

import pytest

from tests.conftest import PROGRAMS
from tests.differential.compare import assert_same
from tests.differential.test_limits import _host_tasks_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the native side must start as root to change ids")


def test_siginfo_ids_as_init(platform, program):
    # as the sandbox's pid 1, sigwaitinfo's signals must not take init's default action
    assert_same(platform, [program("siginfo_ids")])


def test_siginfo_ids_below_init(platform, program):
    launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
    assert_same(platform, ["python3", "-c", launcher, program("siginfo_ids")])


def test_group_kill_reaches_only_permitted_members(platform):
    """The host would signal every member (the host threads are all the
    sandbox's host uid, root): the sentry signals the permitted ones itself."""
    if any(_host_tasks_of(uid) for uid in (1000, 2000, 3000, 4000)):
        pytest.skip("a test uid has host processes: natively kill(-1) would reach them")
    assert_same(platform, ["python3", str(PROGRAMS / "group_kill.py")])
