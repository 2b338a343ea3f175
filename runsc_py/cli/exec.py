"""`runsc-py exec ID`: not implemented yet, and says so.

A new process must join the running sandbox and be served by the same
sentry. The workload's seccomp listener is inherited only by the
workload's own descendants; a process the sentry starts from outside gets
a listener of its own, and the platform's loop serves one listener today.
Until the loop serves several (or init can be made to fork on the
sentry's behalf), exec fails with this message rather than run anything
outside the sandbox.
"""
from __future__ import annotations

from runsc_py.oci.state import Container, ContainerError


def run_exec(args, log) -> int:
    with Container.open(args.root, args.id) as c:
        status = c.status()
    raise ContainerError(f"cannot exec in container {args.id} ({status}): exec into a running "
                         "sandbox is not implemented yet in runsc-py")
