"""The sandbox's boot modules in one file (cli/boot_modules.py): served
only while they are what their sources say, and complete."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from runsc_py.cli import boot_modules

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_isolated(code: str) -> dict:
    """`code` in an interpreter started as the launcher starts it; it prints JSON."""
    prelude = (f"import sys\nsys.path.insert(0, {CHECKOUT!r})\n"
               f"sys.path += {[p for p in sys.path if 'packages' in p]!r}\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", prelude + textwrap.dedent(code)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package `bundled` with two modules, on sys.path."""
    root = tmp_path / "src"
    (root / "bundled").mkdir(parents=True)
    (root / "bundled" / "__init__.py").write_text("NAME = 'package'\n")
    (root / "bundled" / "one.py").write_text("VALUE = 1\n")
    (root / "bundled" / "two.py").write_text("from bundled.one import VALUE\nVALUE2 = VALUE + 1\n")
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [n for n in sys.modules if n == "bundled" or n.startswith("bundled.")]:
        del sys.modules[name]


def forget(name: str) -> None:
    for n in [n for n in sys.modules if n == name or n.startswith(name + ".")]:
        del sys.modules[n]


def test_modules_are_served_from_the_bundle(package, tmp_path):
    path = str(tmp_path / "bundle.marshal")
    assert boot_modules.write(["bundled.two"], path) == 3
    forget("bundled")
    finder = boot_modules.install(path)
    try:
        import bundled.two
    finally:
        boot_modules.remove(finder)
    assert bundled.two.VALUE2 == 2
    assert bundled.two.__spec__.loader is finder
    assert sys.modules["bundled.one"].__spec__.loader is finder
    assert bundled.two.__file__ == str(package / "bundled" / "two.py")
    assert bundled.__path__ == [str(package / "bundled")]
    assert finder.get_source("bundled.one") == "VALUE = 1\n"
    assert finder not in sys.meta_path


def test_a_changed_source_is_imported_from_its_own_file(package, tmp_path):
    path = str(tmp_path / "bundle.marshal")
    boot_modules.write(["bundled.two"], path)
    forget("bundled")
    one = package / "bundled" / "one.py"
    one.write_text("VALUE = 10\n")   # the size differs
    os.utime(one, ns=(0, os.stat(package / "bundled" / "two.py").st_mtime_ns))
    finder = boot_modules.install(path)
    try:
        import bundled.two
    finally:
        boot_modules.remove(finder)
    assert bundled.two.VALUE2 == 11
    assert sys.modules["bundled.one"].__spec__.loader is not finder
    assert bundled.two.__spec__.loader is finder


def test_a_same_size_change_is_seen_by_its_mtime(package, tmp_path):
    path = str(tmp_path / "bundle.marshal")
    boot_modules.write(["bundled.one"], path)
    forget("bundled")
    one = package / "bundled" / "one.py"
    st = os.stat(one)
    one.write_text("VALUE = 7\n")
    os.utime(one, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    finder = boot_modules.install(path)
    try:
        import bundled.one
    finally:
        boot_modules.remove(finder)
    assert bundled.one.VALUE == 7


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x00\x00", b"junk" * 10])
def test_a_missing_or_damaged_bundle_serves_nothing(tmp_path, content):
    path = tmp_path / "bundle.marshal"
    assert boot_modules.install(str(path)) is None
    path.write_bytes(content)
    assert boot_modules.install(str(path)) is None
    path.write_bytes(boot_modules.MAGIC + b"\xff\x00")
    assert boot_modules.install(str(path)) is None


def test_another_interpreters_bundle_serves_nothing(package, tmp_path):
    path = tmp_path / "bundle.marshal"
    boot_modules.write(["bundled.one"], str(path))
    data = path.read_bytes()
    path.write_bytes(b"\x00\x00\r\n" + data[len(boot_modules.MAGIC):])
    assert boot_modules.install(str(path)) is None


def test_the_sandbox_processes_imports_all_come_from_the_bundle(tmp_path):
    """What the sandbox process imports before its orders (early.BOOT_MODULES),
    after what the launcher has when it forks: every pure-Python module of
    it is served from a bundle written as setup.sh writes it."""
    path = str(tmp_path / "bundle.marshal")
    written = run_isolated(f"""
        import json
        from runsc_py.cli import boot_modules, early, main
        print(json.dumps(boot_modules.write(early.BOOT_MODULES, {path!r})))
    """)
    result = run_isolated(f"""
        import importlib, json, sys
        from runsc_py.cli import boot_modules, early, main
        before = set(sys.modules)
        finder = boot_modules.install({path!r})
        for name in early.BOOT_MODULES:
            importlib.import_module(name)
        boot_modules.remove(finder)
        new = [n for n in set(sys.modules) - before
               if (getattr(sys.modules[n], "__file__", None) or "").endswith(".py")]
        print(json.dumps({{"new": len(new),
                          "elsewhere": [n for n in new if sys.modules[n].__spec__.loader
                                        is not finder]}}))
    """)
    assert written >= result["new"] > 50
    assert result["elsewhere"] == []
