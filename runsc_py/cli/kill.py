"""`runsc-py kill [--all] ID [SIGNAL]`: signal the container's init (or all)."""
from __future__ import annotations

import os
import signal

from runsc_py.oci.state import Container, ContainerError
from runsc_py.sandbox import control


def parse_signal(text: str) -> int:
    """A number, or a name with or without SIG ("TERM", "SIGKILL", "rtmin+1")."""
    if text.isascii() and text.isdigit():
        sig = int(text)
    else:
        name = text.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        member = getattr(signal.Signals, name, None) if name.isidentifier() else None
        if member is None and name.startswith("SIGRTMIN+") and name[9:].isdigit():
            return signal.SIGRTMIN + int(name[9:])
        if member is None:
            raise ContainerError(f"unknown signal {text!r} (use a number or a name like TERM, KILL)")
        sig = int(member)
    if not 0 <= sig < signal.NSIG:
        raise ContainerError(f"signal {text} is out of range (0..{signal.NSIG - 1})")
    return sig


def run_kill(args, log) -> int:
    sig = parse_signal(args.signal)
    with Container.open(args.root, args.id) as c:
        status = c.status()
        if status in ("stopped", "creating"):
            raise ContainerError(f"cannot kill container {c.id}: it is {status}")
        if status == "paused":
            if sig != signal.SIGKILL:
                raise ContainerError(f"container {c.id} is paused: resume it first, or kill it "
                                     "with SIGKILL")
            os.kill(c.pid, signal.SIGKILL)   # the sentry is frozen; EXITKILL takes the workload
            from runsc_py.cli.pause import thaw

            thaw(c)
            return 0
        control.request(c.control_path, "kill", signal=sig, all=bool(args.all))
    return 0
