"""Identities: the set*id family, groups, capabilities and prctl, natively and sandboxed.

The workload's ids live in the sentry (sentry/credentials.py); these tests
check that Linux's rules, and how uid changes move the capability sets,
come out the same, and that the C fast path answers the new ids at once.
"""
import os

import pytest

from tests.conftest import run, sandboxed
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


@needs_root
def test_set_id_bits_on_exec(platform, program, tmp_path_factory):
    """Set-uid/set-gid copies made in the sandbox's root (an overlay whose
    changes live in a tmpfs, mounted without nosuid) change the ids of a
    non-root runner as Linux does, capabilities and AT_SECURE included;
    no_new_privs cancels them."""
    native_dir = tmp_path_factory.mktemp("setid", numbered=True)
    native_dir.chmod(0o755)
    for parent in native_dir.parents:  # the runner (uid 1000) must reach the copies
        if parent == parent.parent:
            break
        parent.chmod(parent.stat().st_mode | 0o011)
    native = run([program("setid_exec"), str(native_dir / "d")])
    inside = sandboxed(platform, program("setid_exec"), "/tmp/setid")
    assert native.code == 0 and b"uid 1000/0/0" in native.out, native
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)


@needs_root
def test_set_id_bits_ignored_on_nosuid_mounts(platform, program):
    """`--tmpfs` mounts are nosuid (as docker's): the copies run with the runner's ids."""
    r = sandboxed(platform, program("setid_exec"), "/scratch/d", flags=("--tmpfs", "/scratch"))
    assert r.code == 0, r
    lines = r.out.decode().splitlines()
    assert len(lines) == 7, r
    assert all(" uid 1000/1000/1000 gid 1000/1000/1000 eff none prm none secure 0" in line
               for line in lines if line.startswith("user")), r
    assert lines[2] == "root runs 1234's suid+sgid: uid 0/0/0 gid 0/0/0 eff some prm some secure 0", r
