"""A sentry bug met while serving the workload: reported, never in the workload's output.

The sentry answers a call it failed on with EIO and goes on (kernel.py's
`run_handler`), and says so. Its stderr is the workload's in `runsc-py
do` (and may be a container's), so the traceback would land in the middle
of the program's output. It goes to the runtime's log instead: `--log`'s
file, or, without one, a file of this sandbox's own in the temporary
directory, created at the first bug. Stderr gets one line naming it.
"""
from __future__ import annotations

import os
import sys

from runsc_py import hostcalls

# `--debug` and this variable naming a syscall number: its handler raises,
# so a test can see where a sentry bug's report goes (tests/integration/test_cli.py).
TEST_HOOK = "RUNSC_PY_DEBUG_SENTRY_BUG"

_log_path: str | None = None
_log_dir: int | None = None   # its directory, held from before confinement


def use_log(path: str | None) -> None:
    """The runtime's log file (`--log`), if it has one. Its directory (or
    $TMPDIR's, for the fallback) is kept open: once confined, the sentry
    sees the host's tree read-only (confinement.py), and a report makes its
    file through that earlier, writable view: a detached bind mount of the
    directory alone, so that is all it leaves writable."""
    global _log_path, _log_dir
    _log_path = path
    if _log_dir is not None:
        os.close(_log_dir)
    try:
        _log_dir = hostcalls.hold_directory(os.path.dirname(_path()) or ".")
    except OSError:
        _log_dir = None


def _path() -> str:
    # (not tempfile.gettempdir(): it probes by writing and unlinking files,
    # calls the confined sentry may not make)
    return _log_path or os.path.join(os.environ.get("TMPDIR") or "/tmp",
                                     f"runsc-py-sentry-{os.getpid()}.log")


def report(where: str, details: str | None = None) -> None:
    """A bug in `where`: the traceback being handled (or `details`) to the log,
    one line to stderr."""
    import traceback   # here: ~5 ms of imports (re, tokenize, textwrap) a sandbox rarely needs

    text = details if details is not None else traceback.format_exc()
    path = _append(f"runsc-py: sentry error in {where}:\n{text}")
    if path is None:   # nowhere to put it: stderr, whole, rather than lost
        sys.stderr.write(f"runsc-py: sentry error in {where}:\n{text}")
    else:
        sys.stderr.write(f"runsc-py: sentry error in {where} (a bug: the call failed with EIO; "
                         f"details in {path})\n")


def _append(text: str) -> str | None:
    path = _path()
    try:
        fd = os.open(os.path.basename(path) if _log_dir is not None else path,
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600,
                     dir_fd=_log_dir)
    except OSError:
        return None
    try:
        os.write(fd, text.encode(errors="replace"))
    finally:
        os.close(fd)
    return path


def arm_test_hook(table, debug: bool) -> None:
    """With --debug and RUNSC_PY_DEBUG_SENTRY_BUG=NR: syscall NR's handler raises."""
    nr = os.environ.get(TEST_HOOK) if debug else None
    row = table.rows.get(int(nr)) if nr else None
    if row is None or row.handler is None:
        return

    def broken(ctx, *args):
        raise RuntimeError(f"test hook: {row.name}'s handler raises")

    row.handler = broken
