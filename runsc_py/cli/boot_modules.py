"""A cold `create`'s modules in two files, each read at once.

The sandbox process of a cold `create`/`run` imports ~95 modules before
it can boot (cli/early.py, BOOT_MODULES), and the command line beside it
~45 (argparse, json, the OCI modules: CREATE_MODULES); the longer of the
two is the start of the critical path. A good part of each (~4 ms of ~23
in the sandbox, ~4 of ~18 in the CLI, here) is not the modules' code but
the import system's work per module: searching the path, a stat of the
source, opening and checking its .pyc, building a spec and a loader. So
the code objects of exactly those modules are kept in one file per
process (`SANDBOX`, `CREATE`: written by setup.sh beside the launcher,
cli/launcher.py) and served from memory by a finder the process installs
(`install`, `remove`); anything else is imported as usual.

The file is trusted as .pyc files are (it lives in the package's
`__pycache__`, and whoever can write there can change the code anyway)
and checked as they are: its header is this interpreter's bytecode magic
number, and a module is served only if its source's size and mtime are
still those it was compiled from. A module whose source changed, or any
module at all when the file is missing or damaged, is imported from its
own files: the file only ever saves time.
"""
from __future__ import annotations

import marshal
import os
import sys

_bootstrap_external = sys.modules["_frozen_importlib_external"]
_bootstrap = sys.modules["_frozen_importlib"]

SANDBOX = os.path.join(os.path.dirname(__file__), "__pycache__",
                       f"sandbox-modules.{sys.implementation.cache_tag}.marshal")
CREATE = os.path.join(os.path.dirname(__file__), "__pycache__",
                      f"create-modules.{sys.implementation.cache_tag}.marshal")
MAGIC = _bootstrap_external.MAGIC_NUMBER


class _BundleFinder:
    """A meta path finder (and loader) over {name: (path, is_package,
    mtime_ns, size, code)}."""

    def __init__(self, modules: dict):
        self.modules = modules

    def find_spec(self, name, path=None, target=None):
        entry = self.modules.get(name)
        if entry is None:
            return None
        origin, is_package, mtime_ns, size, _code = entry
        try:
            st = os.stat(origin)
        except OSError:
            return None
        if st.st_mtime_ns != mtime_ns or st.st_size != size:
            return None   # changed since: its own files know better
        spec = _bootstrap.ModuleSpec(name, self, origin=origin, is_package=is_package)
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(origin)]
        spec.has_location = True   # __file__ is the source's path, as usual
        return spec

    def create_module(self, spec):
        return None   # the default module

    def exec_module(self, module) -> None:
        exec(self.modules[module.__name__][4], module.__dict__)

    def get_source(self, name: str) -> str | None:
        """For tracebacks (linecache), when the file is not readable."""
        entry = self.modules.get(name)
        if entry is None:
            return None
        try:
            with open(entry[0], encoding="utf-8") as f:
                return f.read()
        except OSError:
            return None

    def is_package(self, name: str) -> bool:
        return self.modules[name][1]


def install(path: str) -> _BundleFinder | None:
    """Serve the modules of the bundle at `path` from memory from now on
    (until `remove`); None if there is no usable bundle."""
    finder = _load(path)
    if finder is not None:
        sys.meta_path.insert(0, finder)
    return finder


def remove(finder: _BundleFinder | None) -> None:
    """Import as usual again (what is imported later, lazily, is not in it)."""
    if finder is not None:
        sys.meta_path.remove(finder)


def _load(path: str) -> _BundleFinder | None:
    try:
        with open(path, "rb") as f:
            data = f.read()   # (marshal.load reads a file in small pieces: ~4x slower)
        if not data.startswith(MAGIC):
            return None
        modules = marshal.loads(memoryview(data)[len(MAGIC):])
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return _BundleFinder(modules) if isinstance(modules, dict) else None


def write(names, path: str) -> int:
    """Import `names` here and keep every pure-Python module they bring
    that was not loaded before (the launcher's own are there already when
    the sandbox process forks) in the bundle at `path`. Run in a fresh interpreter with the
    launcher's path (cli/launcher.py does). Returns how many were kept."""
    before = set(sys.modules)
    for name in names:
        __import__(name)
    modules = {}
    for name in sorted(set(sys.modules) - before):
        module = sys.modules[name]
        origin = getattr(module, "__file__", None)
        if not origin or not origin.endswith(".py") or module.__spec__.origin == "frozen":
            continue   # extension, built-in and frozen modules load as usual
        with open(origin, "rb") as f:
            source = f.read()
        st = os.stat(origin)
        code = compile(source, origin, "exec", dont_inherit=True)
        is_package = hasattr(module, "__path__")
        modules[name] = (origin, is_package, st.st_mtime_ns, st.st_size, code)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}"
    with open(partial, "wb") as f:
        f.write(MAGIC)
        marshal.dump(modules, f)
    os.rename(partial, path)
    return len(modules)
