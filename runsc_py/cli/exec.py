"""`runsc-py exec ID`: run another process in a running container.

The process is started by the container's sentry, in the sandbox's
namespaces and under the same sentry (`Kernel.spawn_joined`); it gets this
command's stdio, passed over the control socket. The pid an engine
waits for is a *waiter*: this command (or, with --detach, a child it
leaves behind) that exits with the process's status and forwards the
signals it receives to it, since containerd's shim signals an exec by
that pid. If the waiter is SIGKILLed its connection closes and the
sandbox kills the process.
"""
from __future__ import annotations

import json
import os
import signal

from runsc_py.oci import spec as specs
from runsc_py.oci.state import Container, ContainerError, write_pid_file
from runsc_py.sandbox import control

FORWARDED = tuple(s for s in signal.Signals if s not in (signal.SIGKILL, signal.SIGSTOP,
                                                          signal.SIGCHLD))


def run_exec(args, log) -> int:
    with Container.open(args.root, args.id) as c:
        if c.status() != "running":
            raise ContainerError(f"cannot exec in container {c.id}: it is {c.status()}")
        process = _process(args, c)
        path = c.control_path
    if args.tty:
        process["terminal"] = True
    if process.get("terminal") and not args.console_socket:
        raise ContainerError("exec with a terminal needs --console-socket")
    if args.console_socket:
        process["_console_socket"] = os.path.abspath(args.console_socket)
    if not args.detach:
        if args.pid_file:
            write_pid_file(args.pid_file, os.getpid())
        return _wait(path, process, None)
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 1
        try:
            code = _wait(path, process, write_end)
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as ready:
        answer = ready.readline().decode(errors="replace").rstrip("\n")
    if answer != "ok":
        os.waitpid(pid, 0)
        raise ContainerError(f"cannot exec in container {args.id}: "
                             f"{answer.removeprefix('error: ') or 'the waiter died'}")
    if args.pid_file:
        write_pid_file(args.pid_file, pid)
    return 0


def _wait(path: str, process: dict, ready_fd: int | None) -> int:
    """Start the process and wait for it; returns its exit code.

    Signals are caught from before the request: one that arrives while the
    process is being started is forwarded once its pid is known."""
    target: dict = {"pid": None, "early": []}

    def forward(sig, _frame) -> None:
        if target["pid"] is None:
            target["early"].append(int(sig))
            return
        try:
            control.request(path, "signal-exec", pid=target["pid"], signal=int(sig))
        except control.ControlError:
            pass

    for sig in FORWARDED:
        try:
            signal.signal(sig, forward)
        except (OSError, ValueError):
            continue
    console = None
    try:
        # The console socket is reached here and the connection passed on:
        # the confined sentry sees no host path (sentry/confinement.py).
        console_path = process.pop("_console_socket", None)
        console = control.connect(console_path) if console_path else None
        stdio = [0, 1, 2] + ([console.fileno()] if console else [])
        sock, answer = control.open_stream(path, "exec", stdio, process=process)
    except control.ControlError as exc:
        if ready_fd is None:
            raise
        os.write(ready_fd, f"error: {exc}\n".encode())
        return 1
    finally:
        if console is not None:
            console.close()
    target["pid"] = answer["pid"]
    for sig in target["early"]:
        forward(sig, None)
    if ready_fd is not None:
        _detach_stdio()
        os.write(ready_fd, b"ok\n")
        os.close(ready_fd)
    sock.settimeout(None)
    line = control.read_line(sock)
    sock.close()
    if not line:
        return 137   # the sandbox went away with the process
    return int(json.loads(line)["exit"])


def _detach_stdio() -> None:
    """The process has the stdio now; the waiter must not hold the pipes open."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _process(args, c: Container) -> dict:
    """The OCI process object: --process FILE, or args with the container's env."""
    if args.process:
        with open(args.process) as f:
            process = json.load(f)
    else:
        argv = args.args[1:] if args.args[:1] == ["--"] else args.args
        if not argv:
            raise ContainerError("exec needs a command (or --process FILE)")
        base = specs.load(c.record["bundle"]).process
        env = dict(base.env)
        for item in args.env:
            key, _, value = item.partition("=")
            env[key] = value
        process = {"args": argv, "env": [f"{k}={v}" for k, v in env.items()],
                   "cwd": args.cwd or base.cwd, "user": _user(args.user, base.user)}
    try:
        specs._process(process)   # validate here, so the error names the field
    except specs.SpecError as exc:
        raise ContainerError(f"invalid exec process: {exc}")
    return process


def _user(text: str | None, default) -> dict:
    if not text:
        return {"uid": default.uid, "gid": default.gid}
    uid, _, gid = text.partition(":")
    try:
        return {"uid": int(uid), "gid": int(gid or 0)}
    except ValueError:
        raise ContainerError(f"--user {text!r} must be UID[:GID] (numbers)")
