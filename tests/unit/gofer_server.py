"""A real gofer serving a host directory, in a forked process, for unit tests."""
from __future__ import annotations

import contextlib
import os
import socket

from runsc_py.gofer.client import GoferClient
from runsc_py.gofer.server import Gofer


@contextlib.contextmanager
def gofer_for(root: str, readonly: bool = True):
    """Yield a GoferClient for a gofer serving `root` (not confined: a test's scratch tree)."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    sentry_end, gofer_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        sentry_end.close()
        Gofer(root_fd, readonly=readonly).serve(gofer_end)
        os._exit(0)
    gofer_end.close()
    try:
        yield GoferClient(sentry_end)
    finally:
        sentry_end.close()
        os.waitpid(pid, 0)
        os.close(root_fd)
