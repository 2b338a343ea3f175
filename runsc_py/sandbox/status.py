"""Wait statuses as a shell reports them: its own module, so that `run`
(which waits for the sandbox) need not import `do` and the sentry with it."""
from __future__ import annotations

import os


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the code, or 128+N for signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)
