"""CPython's own socket tests, natively and in the sandbox (slow; results in docs/compatibility.md).

Every test that passes natively must pass in the sandbox unless it is
listed below with the reason.
"""
import re
import sys

import pytest

from tests.conftest import TESTS, run, sandboxed

RUNNER = str(TESTS / "programs" / "net" / "cpython_tests.py")
MODULES = ["test.test_socket", "test.test_selectors", "test.test_asyncio.test_sock_lowlevel",
           "test.test_asyncio.test_streams"]
# test id pattern -> why it may fail in the sandbox today (docs/compatibility.md); empty
# since TCP's late EPIPE (a closed end lingers) and the IP-level ancillary data
KNOWN: dict[str, str] = {}


def _statuses(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        m = re.match(r"(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS) (\S+)$", line)
        if m:
            out[m.group(2)] = m.group(1)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_cpython_module(module):
    native = _statuses(run([sys.executable, RUNNER, module], timeout=900).out.decode())
    inside = _statuses(sandboxed("seccomp", sys.executable, RUNNER, module, timeout=1800).out.decode())
    # natively at least one test must pass: a module that cannot even be imported
    # (Debian ships CPython's tests apart, in libpython3.11-testsuite) would
    # otherwise leave nothing to compare and the test could not fail
    assert any(status == "PASS" for status in native.values()), native
    assert inside
    regressions = []
    for test, status in native.items():
        if status != "PASS" or inside.get(test) == "PASS":
            continue
        if not any(re.search(pattern, test) for pattern in KNOWN):
            regressions.append(f"{test}: {inside.get(test, 'missing')}")
    assert not regressions, "\n".join(regressions)
