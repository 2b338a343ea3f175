"""The sandbox process `create` forks before parsing (runsc_py/cli/early.py):
found by a cheap guess, and never left behind when the command fails."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

import pytest

from runsc_py.cli import early
from runsc_py.cli.main import GLOBAL_VALUE_FLAGS
from runsc_py.cli.parser import build_parser

from .conftest import RUNSC_PY


def test_value_flags_are_the_parsers():
    """The guess skips the values of exactly the global flags that take one."""
    takes_value = set()
    for action in build_parser()._actions:
        if action.option_strings and action.nargs != 0 and \
                not isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            takes_value |= {s.lstrip("-") for s in action.option_strings if s.startswith("--")}
    assert takes_value == GLOBAL_VALUE_FLAGS


@pytest.mark.parametrize("argv, command", [
    (["--root", "/r", "--log", "l", "--log-format", "json", "create", "--bundle", "b", "c"],
     "create"),
    (["--root=/r", "--debug", "run", "c"], "run"),
    (["--root", "create", "state", "c"], "state"),      # "create" is --root's value here
    (["exec", "c", "run"], "exec"),
    (["do", "--", "run"], "do"),
    (["--", "create"], None),
    (["--platform", "ptrace"], None),
])
def test_the_command_word_is_found_without_argparse(argv, command):
    assert early.command_of(argv, GLOBAL_VALUE_FLAGS) == command


# A subreaper runs the CLI: any process the CLI leaves behind becomes its
# child when the CLI exits, and shows up in waitpid.
SUBREAPER = textwrap.dedent("""
    import ctypes, json, os, subprocess, sys, time
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
    rc = subprocess.run(json.loads(sys.argv[1]), stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL).returncode
    left = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break                    # no child at all: nothing was left
        if pid:
            left.append(pid)
        time.sleep(0.02)
    print(json.dumps({"rc": rc, "left": left}))
""")


def _run_as_subreaper(argv: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", SUBREAPER, json.dumps(argv)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("breakage", ["malformed config", "taken id", "bad flag", "not create"])
def test_a_command_that_does_not_create_leaves_no_process(bundle, breakage):
    cli = RUNSC_PY + ["--root", str(bundle.root)]
    argv = cli + ["create", "--bundle", str(bundle.path), "c1"]
    if breakage == "malformed config":
        (bundle.path / "config.json").write_text("{ not json")
    elif breakage == "taken id":
        bundle.config(["sleep", "100"])
        assert bundle.cli("create", "--bundle", str(bundle.path), "c1").returncode == 0
    elif breakage == "bad flag":
        argv = cli + ["create", "--no-such-flag", "c1"]
    else:
        # argparse reads `--strace-l` as --strace-log=run; the guess sees `run`
        argv = cli + ["--strace-l", "run", "state", "c1"]
        assert early.command_of(argv[3:], GLOBAL_VALUE_FLAGS) == "run"
    outcome = _run_as_subreaper(argv)
    assert outcome["rc"] != 0
    assert outcome["left"] == []
    if breakage == "taken id":
        assert bundle.state("c1")["status"] == "created"   # the first one is untouched
        assert bundle.cli("delete", "--force", "c1").returncode == 0


def test_a_create_still_works_when_the_guess_missed(bundle):
    """argparse takes `--log-f` for `--log-format`; the guess does not, so it
    finds no command, and `run` forks its sandbox when it gets there."""
    argv = ["--log-f", "text", "run", "--bundle", str(bundle.path), "c1"]
    assert early.command_of(argv, GLOBAL_VALUE_FLAGS) == "text"
    bundle.config(["sh", "-c", "exit 3"])
    assert bundle.cli(*argv).returncode == 3
    assert bundle.cli("state", "c1").returncode != 0   # run deleted it
