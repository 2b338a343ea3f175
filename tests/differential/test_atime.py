"""Access times of listed directories against Linux (relatime, the default
mount option): getdents moves a directory's atime when it is not after its
mtime or ctime or is a day old, and not through O_NOATIME. Sandboxed in a
tmpfs, the memory overlay and a bind mount; natively on a tmpfs over the
scratch directory, in a private mount namespace."""
import sys

import pytest

from tests.differential.compare import FILE_BACKENDS, native_in_scratch, sandboxed_in_scratch

LISTING = r'''
import os, sys
d = os.path.join(sys.argv[1], "listed")
os.makedirs(d + "/sub", exist_ok=True)
os.utime(d, ns=(1_000_000_000, 2_000_000_000))   # atime before mtime
os.listdir(d)
first = os.stat(d).st_atime_ns
print("moved by a listing", first > 2_000_000_000)
os.listdir(d)
print("not by the next (after mtime, fresh)", os.stat(d).st_atime_ns == first)
print("a stat after the listing agrees", os.lstat(d).st_atime_ns == first)
os.utime(d, ns=(3_000_000_000, 2_000_000_000))   # after mtime, but a day old
os.listdir(d)
print("moved when a day old", os.stat(d).st_atime_ns > 3_000_000_000)
os.utime(d, ns=(1_000_000_000, 2_000_000_000))
fd = os.open(d, os.O_RDONLY | os.O_NOATIME)
os.listdir(fd)
print("O_NOATIME leaves it", os.stat(d).st_atime_ns == 1_000_000_000)
'''


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("atime") / "listing.py"
    path.write_text(LISTING)
    return str(path)


@pytest.fixture(scope="module")
def native(script, tmp_path_factory):
    result = native_in_scratch([sys.executable, script], str(tmp_path_factory.mktemp("native")))
    assert result.code == 0 and result.out.count(b" True\n") == 5, result
    return result.out


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_a_listing_moves_atime_as_relatime(platform, backend, script, native, tmp_path):
    r = sandboxed_in_scratch(platform, [sys.executable, script], backend, str(tmp_path))
    assert (r.code, r.out) == (0, native), r
