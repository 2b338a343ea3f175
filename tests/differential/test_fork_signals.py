"""fork never fails with EINTR, however often signals come (tests/programs/fork_signals.c).

A trapped fork that a signal withdrew before the sentry received it is made
again after the handler, as Linux restarts one. It failed with EINTR (sh:
"can't fork: Interrupted system call") when an earlier fork of the same
thread with the same arguments had been let run: the sentry took the
signal for one ending that native call.
"""
from tests.differential.compare import assert_same


def test_fork_is_never_interrupted(platform, program):
    assert_same(platform, [program("fork_signals")])
