"""Extended attributes against Linux's xattr_permission() and name rules
(tests/programs/fs/xattrs.py). Sandboxed where the sandbox keeps xattrs (a
tmpfs and the memory overlay; host binds have none: ENOTSUP), natively in
a private mount namespace, on a tmpfs over the scratch directory."""
import sys

import pytest

from tests.conftest import TESTS
from tests.differential.compare import native_in_scratch, sandboxed_in_scratch

PROGRAM = str(TESTS / "programs" / "fs" / "xattrs.py")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    scratch = str(tmp_path_factory.mktemp("native"))
    result = native_in_scratch([sys.executable, PROGRAM], scratch)
    assert result.code == 0 and b"uid 1000 get trusted: ENODATA" in result.out, result
    return result.out


@pytest.mark.parametrize("backend", ["tmpfs", "overlay"])
def test_xattrs_match_linux(platform, backend, native, tmp_path):
    scratch = str(tmp_path)
    r = sandboxed_in_scratch(platform, [sys.executable, PROGRAM], backend, scratch)
    assert r.code == 0, r
    assert r.out.decode().splitlines() == native.decode().splitlines()
