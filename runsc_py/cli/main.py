"""`runsc-py`: the command line, runc's shape with gVisor's extras.

Global flags go before the command, as with runc; the sandboxing flags
(--platform, --strace, ...) are also accepted after `do`.
"""
from __future__ import annotations

import os
import sys

from runsc_py.cli import early

VERSION = "0.1.0"
OCI_SPEC_VERSION = "1.1.0"


OCI_COMMANDS = {
    "create": "runsc_py.cli.create:run_create", "start": "runsc_py.cli.start:run_start",
    "run": "runsc_py.cli.run:run_run", "state": "runsc_py.cli.state:run_state",
    "kill": "runsc_py.cli.kill:run_kill", "delete": "runsc_py.cli.delete:run_delete",
    "list": "runsc_py.cli.list:run_list", "ps": "runsc_py.cli.ps:run_ps",
    "pause": "runsc_py.cli.pause:run_pause", "resume": "runsc_py.cli.pause:run_resume",
    "events": "runsc_py.cli.events:run_events", "update": "runsc_py.cli.update:run_update",
    "spec": "runsc_py.cli.spec:run_spec", "features": "runsc_py.cli.features:run_features",
    "exec": "runsc_py.cli.exec:run_exec",
}


def run_oci_command(args) -> int:
    """Run one lifecycle command; any failure is one logged, actionable error."""
    import importlib

    from runsc_py.oci.log import Log

    log = Log(args.log, args.log_format, args.debug)
    module, func = OCI_COMMANDS[args.command].split(":")
    try:
        return getattr(importlib.import_module(module), func)(args, log)
    except Exception as exc:  # noqa: BLE001 - every failure is reported the same way
        from runsc_py.oci.errors import describe

        log.error(describe(args.command, exc))
        return 1


def _runc_spelling(argv: list[str]) -> list[str]:
    """Go's flag package takes `-root X` and `--rootless=true`; argparse wants `--root X`."""
    out = []
    for word in argv:
        if word.startswith("--rootless=") or word.startswith("--systemd-cgroup="):
            word = word.split("=", 1)[0] if word.split("=", 1)[1] in ("true", "1") else None
        elif word.startswith("-") and not word.startswith("--") and len(word) > 2 \
                and word[1:].split("=", 1)[0] in _GO_LONG_FLAGS:
            word = "-" + word
        if word is not None:
            out.append(word)
    return out


_GO_LONG_FLAGS = {"root", "log", "log-format", "debug", "bundle", "pid-file", "console-socket",
                  "force", "all", "format", "detach", "resources", "stats", "interval"}

# The global flags written `--flag VALUE` (parser.py's), for finding the
# command word before argparse is loaded (tests/oci/test_cli.py keeps the two
# in step).
GLOBAL_VALUE_FLAGS = frozenset({
    "root", "log", "log-format", "platform", "strace-log", "report-format", "report-file",
    "overlay", "cpu-pin", "pids-limit", "network", "egress", "publish"})


def main(argv: list[str] | None = None) -> int:
    argv = _runc_spelling(sys.argv[1:] if argv is None else argv)
    early.fork_if_creating(argv, GLOBAL_VALUE_FLAGS)
    try:
        return _dispatch(argv)
    finally:
        early.discard()   # whatever did not become a container's sandbox goes


def _dispatch(argv: list[str]) -> int:
    from runsc_py.cli.parser import build_parser, command_word

    parser = build_parser(command_word(argv))
    args = parser.parse_args(argv)
    if args.command not in early.CREATING:
        early.discard()   # a wrong guess: not left importing while the command runs
    if args.version:
        print(f"runsc-py version {VERSION}\nspec: {OCI_SPEC_VERSION}")
        return 0
    if args.command == "do":
        from runsc_py.cli.do import run_do

        return run_do(args)
    if args.command == "syscalls":
        from runsc_py.cli.syscalls import print_table

        return print_table(args.format)
    if args.command in OCI_COMMANDS:
        return run_oci_command(args)
    parser.print_help(sys.stderr)
    return 2


def launch() -> None:
    """The launcher's entry point: main(), then exit without tearing the
    interpreter down. Finalizing every module and a last garbage collection
    cost ~12 ms of a cold `run` here, for nothing: runsc-py registers no exit
    handlers, and its files are closed (the lock's fd goes with the process)."""
    try:
        code = main()
    except SystemExit as exc:   # argparse's errors and --help
        code = exc.code
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass   # a closed pipe (`runsc-py list | head`): nothing more to say
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
