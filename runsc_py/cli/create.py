"""`runsc-py create`: a container whose init exists but has not run yet.

Order matters to engines: the spec is read first (a bad one touches
nothing), the id is claimed by mkdir, the cgroup is made, the sandbox
process is forked and boots, the createRuntime hooks run, and the pid file
is written last. Any failure undoes all of it.
"""
from __future__ import annotations

import contextlib
import os
import signal

from runsc_py.cli import early
from runsc_py.oci import cgroup as cgroups
from runsc_py.oci import spec as specs
from runsc_py.oci.hooks import run_hooks
from runsc_py.oci.state import Container, ContainerError, check_id, now_rfc3339, write_pid_file


def run_create(args, log) -> int:
    container, sandbox, _ = create_container(args, log)
    early.close(sandbox, "orders_fd")   # it starts when `runsc-py start` asks
    container.unlock()
    return 0


# The hooks that run between a container's boot and its start.
HOOKS_BEFORE_START = ("prestart", "createRuntime", "createContainer", "startContainer")


def create_container(args, log, starting=None
                     ) -> tuple[Container, early.EarlySandbox, specs.ContainerSpec]:
    """The container, created; its sandbox process, whose orders pipe is
    still open (`run` starts it with `early.start`: cli/early.py); and its
    parsed config.

    `starting(container, sandbox)` (`run`'s): called as soon as the sandbox
    has booted when the spec has no hook to run before the start, so the
    program starts while the state is written; the container is then
    recorded as running, not created."""
    check_id(args.id)
    bundle = os.path.abspath(args.bundle or ".")
    config = specs.read_document(bundle)
    spec = specs.parse(config, bundle)
    if args.preserve_fds:
        raise ContainerError("--preserve-fds is not supported: the sandbox passes only stdio")
    if spec.process.terminal and not args.console_socket:
        raise ContainerError("process.terminal is true but no --console-socket was given "
                             "(the pty's master is sent there)")
    if args.console_socket and not spec.process.terminal:
        raise ContainerError("--console-socket was given but process.terminal is false")
    container = Container.make(args.root, args.id)
    pid = 0
    cgroup = None
    sandbox = None
    try:
        container.record = {
            "ociVersion": spec.oci_version, "id": args.id, "status": "creating",
            "bundle": bundle, "rootfs": spec.root_path, "created": now_rfc3339(),
            "annotations": spec.annotations, "pid": 0,
            "cgroup": cgroups.resolve_path(spec.cgroups_path, args.id),
        }
        container.save()
        made = cgroups.Cgroup(container.record["cgroup"])
        made.create()   # refuses someone else's: not ours to destroy below
        cgroup = made
        cgroup.apply(spec.limits, spec.cgroup_settings)
        sandbox = _start_sandbox(config, bundle, container, cgroup, args)
        pid = sandbox.pid
        started = starting is not None and not any(spec.hooks.get(k) for k in HOOKS_BEFORE_START)
        if started:
            starting(container, sandbox)
        container.record.update(pid=pid, status="running" if started else "created",
                                pid_start=_start_time(pid))
        container.save()
        for kind in ("prestart", "createRuntime", "createContainer"):
            run_hooks(kind, spec.hooks.get(kind, []), container.oci_state)
        if args.pid_file:
            write_pid_file(args.pid_file, pid)
    except BaseException:
        if sandbox is not None:
            early.close(sandbox, "orders_fd")
        if pid:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        if cgroup is not None:
            cgroup.destroy()
        container.remove()
        raise
    return container, sandbox, spec


def _start_sandbox(config: dict, bundle: str, container: Container, cgroup: cgroups.Cgroup,
                   args) -> early.EarlySandbox:
    """Give the sandbox process its orders; returns it once it has booted.

    The process was forked before the command line was parsed (cli/early.py)
    and has been loading the sentry since. The orders name the cgroup, made
    and limited by now: the sandbox moves itself in before it forks
    anything (gofer, init), so everything it forks starts there
    (`Cgroup.join_self` says why it, not this process, writes).
    """
    sandbox = early.take()
    try:
        early.send_orders(sandbox, {"config": config, "bundle": bundle, "id": container.id,
                                    "control_path": container.control_path,
                                    "cgroup": cgroup.path, "flags": vars(args)})
        answer = early.read_ready(sandbox)
    except BaseException:   # ^C or a kill while it boots: it must not live on unseen
        early.kill(sandbox)
        raise
    if answer != "ok":
        early.close(sandbox, "orders_fd")
        with contextlib.suppress(ChildProcessError):
            os.waitpid(sandbox.pid, 0)
        why = answer.removeprefix("error: ") or "the sandbox died while starting (see --log)"
        raise ContainerError(f"cannot start container {container.id}: {why}")
    return sandbox


def _start_time(pid: int):
    from runsc_py.oci.state import process_start_time

    return process_start_time(pid)
