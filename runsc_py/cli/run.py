"""`runsc-py run [--detach] ID`: create, start, wait and delete, as runc does.

In the foreground the sandbox process is this command's own child, so its
exit status (the workload's) is this command's; signals sent to this
command are forwarded to the container's init, as runc forwards them.
"""
from __future__ import annotations

import contextlib
import os
import signal

from runsc_py.cli import early
from runsc_py.cli.create import create_container
from runsc_py.cli.delete import delete_container
from runsc_py.cli.start import run_poststart, start_container
from runsc_py.oci.state import Container
from runsc_py.sandbox import control
from runsc_py.sandbox.status import exit_code

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGQUIT)


def run_run(args, log) -> int:
    previous: dict = {}

    def catch_signals(container: Container) -> None:
        """Forward the signals this command gets to the container's init;
        from before the start, so one sent while the program starts still
        reaches it."""
        def forward(sig, _frame) -> None:
            with contextlib.suppress(Exception):
                control.request(container.control_path, "kill", signal=sig)

        if not args.detach:
            previous.update({sig: signal.signal(sig, forward) for sig in FORWARDED})

    def starting(container: Container, sandbox) -> None:   # no hook before the start: at once
        catch_signals(container)
        early.start(sandbox)

    container, sandbox, spec = create_container(args, log, starting=starting)
    pid = container.pid
    try:
        if container.record["status"] == "running":
            run_poststart(container, log, spec.hooks)
        else:
            catch_signals(container)
            start_container(container, log, spec, sandbox)
    except BaseException:
        delete_container(container, True, log, spec)
        raise
    container.unlock()
    if args.detach:
        return 0
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    for sig, old in previous.items():
        signal.signal(sig, old)
    with Container.open(args.root, args.id) as c:
        delete_container(c, True, log, spec)
    return exit_code(status)
