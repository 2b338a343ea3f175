"""What a failed command says: one line a user can act on.

containerd shows it after "OCI runtime create failed:"; a bare "EOF"
there is gVisor's users' most common complaint, so every exception the
CLI can meet is turned into words here, once.
"""
from __future__ import annotations

import errno as errnos


def describe(command: str, exc: BaseException) -> str:
    from runsc_py.oci.cgroup import CgroupError
    from runsc_py.oci.hooks import HookError
    from runsc_py.oci.spec import SpecError
    from runsc_py.oci.state import ContainerError
    from runsc_py.sandbox.control import ControlError

    if isinstance(exc, SpecError):
        return f"{command}: invalid config.json: {exc}"
    if isinstance(exc, (ContainerError, ControlError, CgroupError, HookError)):
        return f"{command}: {exc}"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        what = exc.strerror or errnos.errorcode.get(exc.errno or 0, str(exc))
        return f"{command}: {what}{where}"
    return f"{command}: internal error: {type(exc).__name__}: {exc}"
