"""`runsc-py delete [--force] ID`: forget a stopped container (or kill it first)."""
from __future__ import annotations

import contextlib
import os
import signal
import time

from runsc_py.oci import cgroup as cgroups
from runsc_py.oci import spec as specs
from runsc_py.oci.hooks import run_hooks
from runsc_py.oci.state import STATE_FILE, Container, ContainerError, check_id


def run_delete(args, log) -> int:
    check_id(args.id)
    directory = os.path.join(args.root, args.id)
    if args.force and os.path.isdir(directory) and not os.path.exists(
            os.path.join(directory, STATE_FILE)):
        import shutil

        shutil.rmtree(directory, ignore_errors=True)   # a create that died half-way
        return 0
    try:
        c = Container.open(args.root, args.id)
    except ContainerError:
        if args.force:
            return 0   # as runc: forcing the delete of nothing succeeds
        raise
    with c:
        delete_container(c, args.force, log)
    return 0


def delete_container(c: Container, force: bool, log,
                     spec: specs.ContainerSpec | None = None) -> None:
    """Forget c, killing it first if `force`. `spec`: its parsed config when
    the caller has it (`run`), for the poststop hooks; else read again."""
    status = c.status()
    if status not in ("stopped", "created") and not force:
        raise ContainerError(f"cannot delete container {c.id}: it is {status} "
                             "(kill it first, or use delete --force)")
    cgroup = cgroups.Cgroup(c.record.get("cgroup", f"/runsc-py/{c.id}"))
    if c.sandbox_alive():
        os.kill(c.pid, signal.SIGKILL)   # EXITKILL and PDEATHSIG take the workload and gofer
        if status == "paused":
            with contextlib.suppress(Exception):
                cgroup.freeze(False)
        _wait_gone(c)
    cgroup.destroy()
    try:
        if spec is None:
            spec = specs.load(c.record.get("bundle", ""))
        run_hooks("poststop", spec.hooks.get("poststop", []), c.oci_state)
    except specs.SpecError:
        pass
    except Exception as exc:  # noqa: BLE001 - the spec says poststop failures only warn
        log.warning(f"poststop hook failed: {exc}")
    c.remove()


def _wait_gone(c: Container, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while c.sandbox_alive() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(c.pid, os.WNOHANG)   # our own child when `run` deletes
        time.sleep(0.002)
