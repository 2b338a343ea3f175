"""The gofer process, from the sandbox's side: forked before the sentry
loads its modules (so it shares this interpreter's pages), talked to over
a seqpacket socket, hung up on and reaped when the sandbox ends. `runsc-py do`
and the OCI sandbox both start theirs here."""
from __future__ import annotations

import contextlib
import os
import socket


def gofer_roots(root: str, root_readonly: bool, mounts) -> list[tuple[str, bool]]:
    """What the gofer serves: the root, then every bind mount's source (a
    MountSpec's), whose mount index is its position."""
    return [(root, root_readonly)] + [(m.source, m.readonly) for m in mounts if m.is_bind]


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


def stop_gofer(pid: int, sock: socket.socket) -> None:
    """Hang up on the gofer, which then returns, and reap it. It is forked
    before the sentry's Landlock domain (sentry/confinement.py,
    fence_off_host_processes), so the sentry can neither signal it nor reach
    its /proc/PID/root; only the socket's end (or the sentry's death, its
    PDEATHSIG) ends it."""
    sock.close()
    with contextlib.suppress(ChildProcessError):   # the sentry's loop may have reaped it
        os.waitpid(pid, 0)
