"""`runsc-py run [--detach] ID`: create, start, wait and delete, as runc does.

In the foreground the sandbox process is this command's own child, so its
exit status (the workload's) is this command's; signals sent to this
command are forwarded to the container's init, as runc forwards them.
"""
from __future__ import annotations

import contextlib
import os
import signal

from runsc_py.cli.create import create_container
from runsc_py.cli.delete import delete_container
from runsc_py.sandbox.status import exit_code
from runsc_py.cli.start import start_container
from runsc_py.oci.state import Container
from runsc_py.sandbox import control

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGQUIT)


def run_run(args, log) -> int:
    container, sandbox, spec = create_container(args, log)
    pid, path = container.pid, container.control_path

    def forward(sig, _frame) -> None:
        with contextlib.suppress(Exception):
            control.request(path, "kill", signal=sig)

    # Caught from before start: a signal while the program starts still reaches it.
    previous = {} if args.detach else {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
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
