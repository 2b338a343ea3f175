"""No layer imports the one above it (STYLE.md): the CLI stands on the
sandbox layer, which stands on the sentry, syscalls, platform and gofer;
none of those may import the CLI (or the sandbox layer, for the sentry's
own packages). Checked on the source, imports inside functions included."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "runsc_py"
# package -> the packages above it, which it must never import
ABOVE = {
    "sandbox": ("runsc_py.cli",),
    "oci": ("runsc_py.cli",),
    "sentry": ("runsc_py.cli", "runsc_py.sandbox"),
    "syscalls": ("runsc_py.cli", "runsc_py.sandbox"),
    "platform": ("runsc_py.cli", "runsc_py.sandbox", "runsc_py.syscalls"),
    # (the gofer shares the sentry's value types, Stat and SyscallError, on its wire)
    "gofer": ("runsc_py.cli", "runsc_py.sandbox", "runsc_py.syscalls"),
}


def _imports(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_no_package_imports_a_layer_above_it(package):
    wrong = [f"{path.relative_to(PACKAGE)}: {name}"
             for path in sorted((PACKAGE / package).rglob("*.py"))
             for name in _imports(path)
             if any(name == up or name.startswith(up + ".") for up in ABOVE[package])]
    assert not wrong, wrong
