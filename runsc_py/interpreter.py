"""How to start this package in a Python of its own, as fast as it starts.

The `runsc-py` launcher (cli/launcher.py) and the Python API (api.py) both
start the CLI's `launch` in an isolated interpreter without `site`
(`python3 -IS`): no `PYTHON*` variables, no user site directory, no
script directory on the path, no `.pth` file run (~30 ms of a cold start
here). So they name the directories it needs themselves: this package's
parent, and where its dependencies (cffi's backend, python-ptrace) are.
"""
from __future__ import annotations

import importlib.util
import os
import sys

# Top-level modules runsc_py imports from outside the standard library.
DEPENDENCIES = ("_cffi_backend", "cffi", "ptrace")
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dependency_dirs() -> list[str]:
    """Where each dependency is found now (site-packages or dist-packages)."""
    dirs: list[str] = []
    for name in DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise SystemExit(f"runsc-py: {name} is not installed")
        top = spec.origin
        if spec.submodule_search_locations:      # a package: .../site-packages/ptrace/__init__.py
            top = os.path.dirname(top)
        d = os.path.dirname(top)
        if d not in dirs:
            dirs.append(d)
    # In the order `site` put them on the path, so the same copy of each wins.
    return sorted(dirs, key=lambda d: sys.path.index(d) if d in sys.path else len(sys.path))


def launch_code(package_parent: str = PACKAGE_PARENT, site_dirs: list[str] | None = None) -> str:
    """Python that runs the CLI (`cli.main.launch`) from `package_parent`."""
    site_dirs = dependency_dirs() if site_dirs is None else site_dirs
    return ("import sys\n"
            f"sys.path.insert(0, {package_parent!r})\n"
            f"sys.path += {site_dirs!r}\n"
            "from runsc_py.cli.main import launch\n"
            "launch()\n")
