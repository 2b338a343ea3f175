"""The differential check: one program natively and sandboxed, outputs compared."""
from __future__ import annotations

from tests.conftest import run, sandboxed


def shell_status(code: int) -> int:
    """subprocess says -N for "killed by signal N"; a shell, and runsc-py, say 128+N."""
    return 128 - code if code < 0 else code


def assert_same(platform: str, argv: list[str], timeout: float = 120) -> None:
    native = run(argv, timeout=timeout)
    inside = sandboxed(platform, *argv, timeout=timeout)
    assert inside.code == shell_status(native.code), (native, inside)
    assert inside.out == native.out, (native, inside)
    assert inside.err == native.err, (native, inside)
