"""The `runsc-py` executable that engines run: an isolated interpreter.

    python3 -m runsc_py.cli.launcher [DEST]   # setup.sh; DEST defaults to where pip put `runsc-py`

A container runtime runs as root, called by containerd, dockerd or podman
with whatever environment they have. So the launcher starts Python with
`-I -S`: no `PYTHON*` variables, no user site directory, no script
directory on the path, and no `site` module, so no `.pth` file runs (an
editable install's finder, a certificate hook: code nobody asked the
runtime to run, and ~30 ms of a cold start here). The directories it
needs are written into it instead: this package's parent, and the
directories its dependencies (cffi's backend, python-ptrace) were found
in when it was installed.
"""
from __future__ import annotations

import os
import sys
import sysconfig

from runsc_py.interpreter import dependency_dirs, launch_code


def installed_path() -> str:
    """Where pip installs this interpreter's scripts (/usr/local/bin on Debian)."""
    return os.path.join(sysconfig.get_path("scripts"), "runsc-py")


def launcher_text(python: str, package_parent: str, site_dirs: list[str]) -> str:
    return (f"#!{python} -IS\n"
            "# runsc-py, written by `python3 -m runsc_py.cli.launcher` (see its docstring):\n"
            "# isolated, without `site`, with exactly these directories on the path.\n"
            + launch_code(package_parent, site_dirs))


def write_launcher(dest: str, python: str | None = None, package_parent: str | None = None) -> None:
    """Write the launcher to `dest` (replaced by rename: it may be running),
    and the sandbox's boot modules for it (cli/boot_modules.py)."""
    python = python or sys.executable
    package_parent = package_parent or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    site_dirs = dependency_dirs()
    tmp = f"{dest}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(launcher_text(python, package_parent, site_dirs))
    os.chmod(tmp, 0o755)
    os.rename(tmp, dest)
    write_boot_modules(python, package_parent, site_dirs)


def write_boot_modules(python: str, package_parent: str, site_dirs: list[str]) -> None:
    """Compile a cold `create`'s modules into their two files
    (cli/boot_modules.py), each in an interpreter started as the launcher
    starts it, that has loaded what the launcher has when it forks the
    sandbox (cli/main.py)."""
    import subprocess

    for modules, bundle in (("BOOT_MODULES", "SANDBOX"), ("CREATE_MODULES", "CREATE")):
        code = ("import sys\n"
                f"sys.path.insert(0, {package_parent!r})\n"
                f"sys.path += {site_dirs!r}\n"
                "from runsc_py.cli import boot_modules, early, main\n"
                f"boot_modules.write(early.{modules}, boot_modules.{bundle})\n")
        subprocess.run([python, "-I", "-S", "-c", code], check=True)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        raise SystemExit("usage: python3 -m runsc_py.cli.launcher [DEST]")
    write_launcher(sys.argv[1] if len(sys.argv) == 2 else installed_path())
