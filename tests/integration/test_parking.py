"""A parked call (its reply withheld) never blocks the sentry's loop."""
import pathlib
import sys

from tests.conftest import run

SCRIPT = pathlib.Path(__file__).with_name("park_sandbox.py")


def test_parked_call_does_not_block_other_threads(platform, program):
    r = run([sys.executable, str(SCRIPT), platform, program("park")], timeout=30)
    assert r.code == 0, r
    assert sorted(r.out.decode().split()) == ["getppid=0", "parked=42", "released=7"], r
