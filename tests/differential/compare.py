"""The differential check: one program natively and sandboxed, outputs compared."""
from __future__ import annotations

import pathlib
import shutil
import sys

import pytest

from tests.conftest import Result, run, sandboxed

# The kinds of directory a program given a scratch path may find it to be,
# sandboxed: a sandbox tmpfs (the sentry's store), the memory overlay's upper
# layer over the host root, a bind mount (host files, through the gofer).
FILE_BACKENDS = {
    "tmpfs": lambda d: ("--tmpfs", d),
    "overlay": lambda d: (),
    "bind": lambda d: ("-v", f"{d}:{d}"),
}


PROGRAMS = pathlib.Path(__file__).resolve().parent.parent / "programs"


def python_program(name: str) -> list[str]:
    """The argv of tests/programs/`name`, a Python program."""
    return [sys.executable, str(PROGRAMS / name)]


def native_output(program: str | list[str], scratch: str, done: bytes) -> bytes:
    """What `program` prints natively (native_in_scratch), which must succeed
    and say `done`: the reference a sandboxed run is compared with."""
    result = native_in_scratch(program, scratch)
    assert result.code == 0 and done in result.out, result
    return result.out


def native_in_scratch(program: str | list[str], scratch: str, timeout: float = 60) -> Result:
    """`program scratch` (a path, or an argv such as [python, script.py])
    natively, confined: in a private mount namespace, on a tmpfs mounted
    over `scratch`, so nothing it writes lands on the host."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    argv = [program] if isinstance(program, str) else list(program)
    return run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs none "$1" && d=$1 && shift && exec "$@" "$d"', "sh", scratch,
                *argv], timeout=timeout)


def sandboxed_in_scratch(platform: str, program: str | list[str], backend: str, scratch: str,
                         timeout: float = 120) -> Result:
    """`program scratch` sandboxed, `scratch` being a directory of `backend`'s
    kind (FILE_BACKENDS), the same program native_in_scratch runs."""
    argv = [program] if isinstance(program, str) else list(program)
    return sandboxed(platform, *argv, scratch, flags=FILE_BACKENDS[backend](scratch),
                     timeout=timeout)


def shell_status(code: int) -> int:
    """subprocess says -N for "killed by signal N"; a shell, and runsc-py, say 128+N."""
    return 128 - code if code < 0 else code


def assert_same(platform: str, argv: list[str], timeout: float = 120) -> None:
    native = run(argv, timeout=timeout)
    inside = sandboxed(platform, *argv, timeout=timeout)
    assert inside.code == shell_status(native.code), (native, inside)
    assert inside.out == native.out, (native, inside)
    assert inside.err == native.err, (native, inside)
