"""libseccomp's programs, kept like bytecode: compiled once, read after.

Every sandbox compiles the same filters: the workload's from the syscall
table, the sentry's and the gofer's allow-lists. libseccomp takes ~0.7 ms
for the workload's (~1.8 ms the first time in a process, with its own
tables to build), on the critical path of every cold start. Its output
depends only on its input, so the program is kept in the package's
`__pycache__`, as Python keeps compiled modules there, and trusted as
they are: whoever can write there can already change the code.

A kept program is used only if its whole input matches: the file holds
the input (libseccomp's version, the default action, every rule) beside
the program, and the name is only a hash of it. A file that does not
match, cannot be read or cannot be written is ignored: the program is
compiled as before. Nothing is written where Python would not write
bytecode (`sys.dont_write_bytecode`, set once the sentry is confined).
"""
from __future__ import annotations

import contextlib
import marshal
import os
import sys

from runsc_py._interpose import ffi, lib

FORMAT = 1   # bump when what a file holds changes
DIRECTORY = os.path.join(os.path.dirname(__file__), "__pycache__")


def compiled(rules: list[tuple[int, int]], default_action: int) -> bytes:
    """libseccomp's BPF for `rules` ((nr, action), sorted) and the default
    action: the kept copy if its input is exactly this one, else compiled
    now (and kept, where bytecode may be written)."""
    key = (FORMAT, lib.rp_libseccomp_version(), default_action, tuple(rules))
    path = os.path.join(DIRECTORY, f"seccomp-{hash(key) & 0xFFFFFFFFFFFFFFFF:016x}.bpf")
    kept = _read(path, key)
    if kept is not None:
        return kept
    program = _compile(rules, default_action)
    if not sys.dont_write_bytecode:
        _write(path, key, program)
    return program


def _read(path: str, key: tuple) -> bytes | None:
    try:
        with open(path, "rb") as f:
            their_key, program = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return program if their_key == key and isinstance(program, bytes) else None


def _write(path: str, key: tuple, program: bytes) -> None:
    """By rename, so a reader sees a whole file or none."""
    partial = f"{path}.{os.getpid()}"
    try:
        with open(partial, "wb") as f:
            marshal.dump((key, program), f)
        os.rename(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)


def _compile(rules: list[tuple[int, int]], default_action: int) -> bytes:
    c_rules = ffi.new("struct rp_rule[]", len(rules))
    for i, (nr, action) in enumerate(rules):
        c_rules[i].nr = nr
        c_rules[i].action = action
    fd = os.memfd_create("runsc-py-filter", os.MFD_CLOEXEC)
    try:
        rc = lib.rp_filter_build(c_rules, len(rules), default_action, fd)
        if rc < 0:
            raise OSError(-rc, f"libseccomp could not build the filter: {os.strerror(-rc)}")
        return os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)
