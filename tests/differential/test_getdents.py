"""getdents (the legacy struct linux_dirent) and getdents64 against Linux
(tests/programs/getdents.c): names and types, EINVAL for a buffer too small
or a count above INT_MAX, and a buffer that faults part way (the entries
before the fault). Sandboxed in a tmpfs, the memory overlay and a bind
mount; natively in a private mount namespace, on a tmpfs over the scratch
directory."""
import pytest

from tests.differential.compare import FILE_BACKENDS, native_in_scratch, sandboxed_in_scratch


@pytest.fixture(scope="module")
def native(program, tmp_path_factory):
    result = native_in_scratch(program("getdents"), str(tmp_path_factory.mktemp("native")))
    assert result.code == 0 and b"getdents: 42 entries, types ok" in result.out, result
    return result.out


@pytest.mark.parametrize("backend", sorted(FILE_BACKENDS))
def test_getdents_match_linux(platform, program, backend, native, tmp_path):
    r = sandboxed_in_scratch(platform, program("getdents"), backend, str(tmp_path))
    assert r.code == 0, r
    assert r.out == native, r
