"""getdents (the legacy struct linux_dirent) and getdents64 against Linux
(tests/programs/getdents.c): names and types, EINVAL for a buffer too small
or a count above INT_MAX, and a buffer that faults part way (the entries
before the fault). Sandboxed in a tmpfs, the memory overlay and a bind
mount; natively in a private mount namespace, on a tmpfs over the scratch
directory."""
import shutil

import pytest

from tests.conftest import run, sandboxed

BACKENDS = {
    "tmpfs": lambda d: ("--tmpfs", d),
    "overlay": lambda d: (),
    "bind": lambda d: ("-v", f"{d}:{d}"),
}


@pytest.fixture(scope="module")
def native(program, tmp_path_factory):
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    scratch = str(tmp_path_factory.mktemp("native"))
    result = run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                  'mount -t tmpfs none "$1" && exec "$2" "$1"', "sh", scratch, program("getdents")])
    assert result.code == 0 and b"getdents: 42 entries, types ok" in result.out, result
    return result.out


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_getdents_match_linux(platform, program, backend, native, tmp_path):
    r = sandboxed(platform, program("getdents"), str(tmp_path), flags=BACKENDS[backend](str(tmp_path)))
    assert r.code == 0, r
    assert r.out == native, r
