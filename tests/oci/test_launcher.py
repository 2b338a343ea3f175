"""The `runsc-py` launcher setup.sh installs: an isolated interpreter."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from runsc_py.cli.launcher import write_launcher

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
