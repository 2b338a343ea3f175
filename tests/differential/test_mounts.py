"""Mount namespaces and mount(2)/umount2(2) inside the sandbox, against Linux.

tests/programs/mounts.py unshares a mount namespace in a child and mounts
there: tmpfs (options, stacking, umount's EBUSY/EINVAL/MNT_EXPIRE), binds
(recursive or not, of a file, read-only remounts, propagation, moves),
proc, and the errnos of a bad type, option or caller. Natively it runs in
a private mount namespace over a tmpfs scratch (nothing lands on the
host); sandboxed on each kind of directory the sandbox has, where every
mount is the sentry's and the host's mount table never changes.
"""
import sys

import pytest

from tests.conftest import PROGRAMS, sandboxed
from tests.differential.compare import FILE_BACKENDS, native_in_scratch, sandboxed_in_scratch

SCRIPT = str(PROGRAMS / "mounts.py")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    result = native_in_scratch([sys.executable, SCRIPT], str(tmp_path_factory.mktemp("native")))
    assert result.code == 0 and b"raised" not in result.out, result
    return result.out


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_mounts_match_linux(platform, backend, native, tmp_path):
    r = sandboxed_in_scratch(platform, [sys.executable, SCRIPT], backend, str(tmp_path))
    assert r.code == 0, r
    assert r.out.decode().splitlines() == native.decode().splitlines(), r


def test_host_mount_table_unchanged(platform, tmp_path):
    """What the sandbox mounts never reaches the host's mount table, nor the
    host directory it was mounted over (here a bind mount's: what lands
    there is the workload's own writes only)."""
    before = open("/proc/self/mountinfo").read()
    r = sandboxed(platform, sys.executable, SCRIPT, str(tmp_path), flags=("-v", f"{tmp_path}:{tmp_path}"))
    assert r.code == 0, r
    assert open("/proc/self/mountinfo").read() == before
    assert (tmp_path / "src" / "new").read_text() == "n"   # written through a bind
    assert list((tmp_path / "a").iterdir()) == []           # written into a tmpfs mounted there


UTIL_LINUX = """
d=$1/m
mkdir $d
unshare -m sh -c "mount -t tmpfs -o size=1m none $d && touch $d/x && ls $d \
    && findmnt -n -o FSTYPE,VFS-OPTIONS $d && mount --bind /etc $d && ls $d/passwd \
    && umount $d && umount $d && echo unmounted"
ls $d | wc -l
"""


def test_util_linux_unshare_mount_and_umount(platform, tmp_path):
    """The real tools: `unshare -m` (unshare, then a recursive MS_PRIVATE of
    /), `mount -t tmpfs`, `mount --bind`, `findmnt` reading mountinfo,
    `umount`; the mounts gone with the namespace."""
    native = native_in_scratch(["sh", "-c", UTIL_LINUX, "sh"], str(tmp_path))
    assert native.code == 0, native
    inside = sandboxed(platform, "sh", "-c", UTIL_LINUX, "sh", str(tmp_path))
    assert (inside.code, inside.out) == (0, native.out), (native, inside)
