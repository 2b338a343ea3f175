"""runsc-py: a gVisor-style application kernel in Python.

The Python API (docs/api.md): `Sandbox` runs a command in a sandbox of its
own and returns a `Result`, as subprocess.run does; `Pool` keeps sandboxes
booted ahead of demand. They are imported on first use, so the CLI's start
pays nothing for them.
"""

__all__ = ["Pool", "Result", "Sandbox"]


def __getattr__(name: str):
    if name in ("Sandbox", "Result"):
        from runsc_py import api

        return getattr(api, name)
    if name == "Pool":
        from runsc_py.pool import Pool

        return Pool
    raise AttributeError(f"module 'runsc_py' has no attribute {name!r}")
