"""Identities: the set*id family, groups, capabilities and prctl, natively and sandboxed.

The workload's ids live in the sentry (sentry/credentials.py); these tests
check that Linux's rules, and how uid changes move the capability sets,
come out the same, and that the C fast path answers the new ids at once.
"""
import os

import pytest

from tests.conftest import sandboxed
from tests.differential.compare import assert_same

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the native side must start as root to change ids")


@needs_root
def test_set_id_family_and_capabilities(platform, program):
    assert_same(platform, [program("ids")])


@needs_root
def test_ids_survive_exec(platform):
    code = "import os; os.setgroups([3, 4]); os.setgid(1000); os.setuid(1000); os.execvp('id', ['id'])"
    assert_same(platform, ["python3", "-c", code])


@needs_root
def test_nonroot_loses_capabilities_across_exec(platform):
    # after setuid, the exec'd python sees no capabilities and cannot get root back
    code = ("import os; os.setuid(1000); os.execvp('python3', ['python3', '-c', "
            "'import os\\ntry:\\n os.setuid(0)\\nexcept PermissionError: print(\"EPERM\")'])")
    r = sandboxed(platform, "python3", "-c", code)
    assert r.out == b"EPERM\n", r


def test_fast_path_follows_setuid(platform):
    code = "import os; a = os.getuid(); os.setresuid(5, 6, 7); print(a == os.getuid(), os.getresuid(), os.geteuid())"
    r = sandboxed(platform, "python3", "-c", code)
    if os.geteuid() == 0:
        assert r.out == b"False (5, 6, 7) 6\n", r
    else:
        assert b"PermissionError" in r.err, r


@needs_root
def test_proc_status_shows_the_sandbox_credentials(platform):
    code = ("import os\n"
            "def show():\n"
            "    print([l for l in open('/proc/self/status') if l.startswith(('Uid', 'Gid', 'Cap', 'NoNew'))])\n"
            "show(); os.setgid(7); os.setresuid(5, 5, 0); show()\n")
    assert_same(platform, ["python3", "-c", code])
