"""OCI hooks: run on the host with the container's state JSON on stdin.

`prestart` is run as the legacy alias of `createRuntime` (dockerd's
libnetwork-setkey is one). `createContainer` and `startContainer` are
specified to run in the container's namespaces; the container's
namespaces here are the sentry's (there is nothing of the host's to
enter), so they run on the host like the others, at the same moments.
A hook that fails or outlives its timeout fails the step that ran it.
"""
from __future__ import annotations

import json

from runsc_py.oci.spec import Hook


class HookError(Exception):
    pass


def run_hooks(kind: str, hooks: list[Hook], state) -> None:
    """Run `hooks` in order, each given the container's state (`state()`:
    asked only when there is a hook, as it reads the sandbox's /proc entry)."""
    if not hooks:
        return
    import subprocess   # here: most containers have no hooks, and it costs a cold start 2 ms

    payload = json.dumps(state()).encode()
    for hook in hooks:
        env = dict(item.split("=", 1) for item in hook.env if "=" in item)
        try:
            proc = subprocess.run(list(hook.args), executable=hook.path,
                                  input=payload, env=env, capture_output=True,
                                  timeout=hook.timeout)
        except subprocess.TimeoutExpired:
            raise HookError(f"{kind} hook {hook.path} did not finish within {hook.timeout}s")
        except OSError as exc:
            raise HookError(f"{kind} hook {hook.path} could not run: {exc.strerror}")
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise HookError(f"{kind} hook {hook.path} failed with status {proc.returncode}"
                            + (f": {err}" if err else ""))
