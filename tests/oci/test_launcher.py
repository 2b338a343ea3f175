"""The `runsc-py` launcher setup.sh installs: an isolated interpreter."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

from runsc_py.cli.launcher import write_boot_modules, write_launcher
from runsc_py.interpreter import dependency_dirs

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_launcher_ignores_the_callers_python_environment(tmp_path):
    launcher = tmp_path / "runsc-py"
    write_launcher(str(launcher), sys.executable, str(REPO))
    evil = tmp_path / "evil"
    (evil / "runsc_py").mkdir(parents=True)
    (evil / "runsc_py" / "__init__.py").write_text("raise SystemExit('PYTHONPATH was honoured')\n")
    env = dict(os.environ, PYTHONPATH=str(evil), PYTHONINSPECT="1")
    proc = subprocess.run([str(launcher), "--version"], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("runsc-py version ")


def test_launcher_runs_no_site_hooks(tmp_path):
    launcher = tmp_path / "runsc-py"
    write_launcher(str(launcher), sys.executable, str(REPO))
    text = launcher.read_text()
    assert text.startswith(f"#!{sys.executable} -IS\n")
    # What the launcher's interpreter has loaded once runsc_py's CLI is imported.
    probe = text.replace("launch()", "print(sorted(sys.modules))")
    proc = subprocess.run([sys.executable, "-IS", "-c", probe], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "'site'" not in proc.stdout


def test_a_cold_runs_command_line_imports_from_its_bundle(bundle):
    """`run` with the bundles setup.sh writes (cli/boot_modules.py): every
    pure-Python module the command line imports after the sandbox's fork
    comes from the CREATE bundle, so CREATE_MODULES stays complete."""
    bundle.config(["true"])
    site_dirs = dependency_dirs()
    write_boot_modules(sys.executable, str(REPO), site_dirs)
    probe = f"""
import json, sys
sys.path.insert(0, {str(REPO)!r})
sys.path += {site_dirs!r}
from runsc_py.cli import main
before = set(sys.modules)
code = main.main(["--root", {str(bundle.root)!r}, "run", "--bundle", {str(bundle.path)!r}, "imp1"])
finders = [f for f in sys.meta_path if type(f).__name__ == "_BundleFinder"]
new = [n for n in set(sys.modules) - before
       if (getattr(sys.modules[n], "__file__", None) or "").endswith(".py")
       and sys.modules[n].__spec__.origin != "frozen"]   # importlib's own aliases
print(json.dumps({{"code": code, "finders": len(finders), "new": len(new),
                  "elsewhere": sorted(n for n in new
                                      if sys.modules[n].__spec__.loader not in finders)}}))
"""
    proc = subprocess.run([sys.executable, "-IS", "-c", probe], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] == 0 and result["finders"] == 1 and result["new"] > 20, result
    # boot_modules itself is imported to install the bundle
    assert result["elsewhere"] == ["runsc_py.cli.boot_modules"], result
