"""Sending signals: checked by the sentry only where the sandbox's init is the target.

Everything else runs natively: the pid namespace confines kill(-1) and
every pid to the sandbox (docs/architecture.md). For init the kernel would
drop a signal it has no handler for, so the sentry applies the default
action itself (sentry/signals.py).
"""
from __future__ import annotations

import errno

from runsc_py.platform import NATIVE
from runsc_py.sentry.errors import SyscallError
from runsc_py.syscalls.context import as_int


def kill(ctx, pid, sig):
    pid, sig = as_int(pid), as_int(sig)
    init = ctx.kernel.tasks.init
    hits_init = pid == init.vpid or (pid == 0 and ctx.process.pgid == init.pgid) or pid == -init.pgid
    return _to_init(ctx, sig) if hits_init else NATIVE


def tkill(ctx, tid, sig):
    return _to_init(ctx, as_int(sig)) if as_int(tid) == ctx.kernel.tasks.init.vpid else NATIVE


def tgkill(ctx, tgid, tid, sig):
    init = ctx.kernel.tasks.init.vpid
    return _to_init(ctx, as_int(sig)) if as_int(tgid) == init and as_int(tid) == init else NATIVE


def _to_init(ctx, sig: int):
    if not 0 <= sig <= 64:
        raise SyscallError(errno.EINVAL)
    if sig != 0 and ctx.kernel.apply_default_to_init(sig):
        return 0
    return NATIVE
