"""The gofer process, from the sandbox's side: forked before the sentry
loads its modules (so it shares this interpreter's pages), talked to over
a seqpacket socket, killed and reaped when the sandbox ends. `runsc-py do`
and the OCI sandbox both start theirs here."""
from __future__ import annotations

import contextlib
import os
import signal
import socket


def start_gofer(roots: list[tuple[str, bool]]) -> tuple[int, socket.socket]:
    """Fork the gofer serving `roots` ((host path, readonly): the root first,
    then bind mount sources, whose mount index is their position)."""
    sentry_end, gofer_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            sentry_end.close()
            from runsc_py.gofer.server import run

            run(gofer_end, roots)
        except BaseException:  # noqa: BLE001 - the gofer must never return into the CLI
            code = 1
        os._exit(code)
    gofer_end.close()
    return pid, sentry_end


def stop_gofer(pid: int) -> None:
    """Kill and reap the gofer (the sentry's loop may have reaped it already)."""
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
