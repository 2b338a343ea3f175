"""CPython's regression modules pass in the sandbox wherever they pass natively, except
the tests docs/compatibility.md lists with a reason (slow: about 35 minutes on 2 cores)."""
import pathlib
import re

import pytest

from tests.conformance import cpython_regrtest

COMPATIBILITY = pathlib.Path(__file__).resolve().parents[2] / "docs" / "compatibility.md"


def listed_exceptions() -> set[str]:
    """Every `test.module.Class.test_name` named in docs/compatibility.md."""
    return set(re.findall(r"`(test\.test_\w+\.\w+\.\w+)`", COMPATIBILITY.read_text()))


@pytest.mark.slow
@pytest.mark.parametrize("module", cpython_regrtest.MODULES)
def test_module_passes_as_natively(module, tmp_path):
    native = cpython_regrtest.run_module(module, None, 1200, str(tmp_path))
    sandbox = cpython_regrtest.run_module(module, "seccomp", 1200, str(tmp_path))
    # natively at least one test must pass (a module that cannot be imported
    # leaves only its loader's error, and nothing to compare)
    assert any(outcome == "pass" for outcome in native["tests"].values()), native["tail"]
    unexplained = {t: o for t, o in cpython_regrtest.only_in_sandbox(native["tests"], sandbox["tests"]).items()
                   if t not in listed_exceptions()}
    assert not unexplained, (unexplained, sandbox["tail"])


def test_parser_reads_unittest_verbose_output():
    out = ("test_a (test.test_x.C.test_a) ... ok\n"
           "test_b (test.test_x.C.test_b)\nDocstring line ... FAIL\n"
           "test_c (test.test_x.C.test_c) ... child output\nmore\nskipped 'no reason'\n"
           "test_d (test.test_x.C.test_d) ... ERROR\n")
    assert cpython_regrtest.parse(out) == {"test.test_x.C.test_a": "pass", "test.test_x.C.test_b": "fail",
                                           "test.test_x.C.test_c": "skip", "test.test_x.C.test_d": "error"}
