"""`runsc-py start ID`: let a created container's init run its program."""
from __future__ import annotations

from runsc_py.cli import early
from runsc_py.oci import spec as specs
from runsc_py.oci.hooks import run_hooks
from runsc_py.oci.state import Container, ContainerError
from runsc_py.sandbox import control


def run_start(args, log) -> int:
    with Container.open(args.root, args.id) as c:
        start_container(c, log)
    return 0


def start_container(c: Container, log, spec: specs.ContainerSpec | None = None,
                    sandbox: early.EarlySandbox | None = None) -> None:
    """Let c's program run. `run` passes what it has: the parsed config
    (else it is read again, for the hooks) and its own child, started down
    its orders pipe instead of the control socket (cli/early.py)."""
    status = c.status()
    if status != "created":
        raise ContainerError(f"cannot start container {c.id}: it is {status} "
                             "(only a created container can start)")
    if spec is None:
        spec = _spec_or_none(c)
    hooks = spec.hooks if spec else {}
    run_hooks("startContainer", hooks.get("startContainer", []), c.oci_state)
    if sandbox is not None:
        early.start(sandbox)
    else:
        control.request(c.control_path, "start")
    c.record["status"] = "running"
    c.save()
    run_poststart(c, log, hooks)


def run_poststart(c: Container, log, hooks: dict) -> None:
    try:
        run_hooks("poststart", hooks.get("poststart", []), c.oci_state)
    except Exception as exc:  # noqa: BLE001 - the container runs; the spec says warn
        log.warning(f"poststart hook failed: {exc}")


def _spec_or_none(c: Container):
    try:
        return specs.load(c.record.get("bundle", ""))
    except specs.SpecError:
        return None
