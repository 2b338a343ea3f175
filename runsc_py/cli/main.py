"""`runsc-py`: the command line, runc's shape with gVisor's extras.

Global flags go before the command, as with runc; the sandboxing flags
(--platform, --strace, ...) are also accepted after `do`.
"""
from __future__ import annotations

import argparse
import os
import sys

VERSION = "0.1.0"
OCI_SPEC_VERSION = "1.1.0"


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, told the terminal's width: left to find it, argparse imports
    shutil (and with it zlib, bz2 and lzma), 3 ms of every cold start here."""

    def __init__(self, prog: str, **kw):
        if kw.get("width") is None:
            kw["width"] = _terminal_columns() - 2
        super().__init__(prog, **kw)


def _terminal_columns() -> int:
    """$COLUMNS, else stdout's terminal, else 80 (shutil.get_terminal_size's rule)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _sandbox_flags(parser: argparse.ArgumentParser, default) -> None:
    """Flags that shape a sandbox; `default` is SUPPRESS on subcommands."""
    d = (lambda v: v) if default is None else (lambda v: default)
    parser.add_argument("--platform", choices=["seccomp", "ptrace"], default=d("seccomp"),
                        help="how syscalls are intercepted (default: seccomp)")
    parser.add_argument("--strace", action="store_true", default=d(False),
                        help="log every trapped syscall, strace-style")
    parser.add_argument("--strace-log", metavar="FILE", default=d(None),
                        help="write --strace output to FILE instead of stderr")
    parser.add_argument("--report", action="store_true", default=d(False),
                        help="at exit, list the unimplemented syscalls the workload made")
    parser.add_argument("--report-format", choices=["text", "json"], default=d("text"))
    parser.add_argument("--overlay", choices=["memory", "none"], default=d("memory"),
                        help="memory: the root is an overlay whose changes live in sentry "
                             "memory (default); none: the root itself (read-only for `do`)")
    parser.add_argument("--cpu-pin", choices=["on", "off"], default=d("off"),
                        help="pin the sentry and the workload to one CPU (cheaper wake-ups, "
                             "but one core for everything; see bench/README.md)")
    parser.add_argument("--pids-limit", metavar="N", type=int, default=d(None),
                        help="at most N tasks (threads count) in the sandbox; more clones fail "
                             "with EAGAIN")
    parser.add_argument("--network", choices=["sandbox", "host", "none"], default=d("sandbox"),
                        help="sandbox: the sentry's own network (default); none: loopback only; "
                             "host: host sockets in the host's network namespace")
    parser.add_argument("--egress", metavar="CIDR[:PORT[-PORT]],...", action="append",
                        default=d([]), help="outside addresses the sandbox may connect to "
                                            "(default: none)")
    parser.add_argument("--publish", metavar="HOSTPORT:SANDBOXPORT", action="append",
                        default=d([]), help="forward a host TCP port into a sandbox listener")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `command`, only that command's subparser (a
    cold start builds one of the eighteen, not all of them)."""
    parser = argparse.ArgumentParser(prog="runsc-py", description=__doc__.splitlines()[0],
                                     formatter_class=HelpFormatter)
    _global_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help, id_arg, add_flags) in COMMANDS.items():
        if command is None or name == command:
            p = sub.add_parser(name, help=help, formatter_class=HelpFormatter)
            if id_arg:
                p.add_argument("id", metavar="ID")
            add_flags(p)
    return parser


def _global_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", "-v", action="store_true", help="print the version")
    parser.add_argument("--root", default="/run/runsc-py", help="state directory")
    parser.add_argument("--log", default=None, help="log file")
    parser.add_argument("--log-format", choices=["text", "json"], default="text")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--systemd-cgroup", action="store_true",
                        help="accepted; the cgroup is managed as a directory")
    parser.add_argument("--rootless", action="store_true", help="accepted; runsc-py runs rootful")
    _sandbox_flags(parser, None)


def _command_word(argv: list[str]) -> str | None:
    """Which command `argv` names: the first word that is neither a global
    flag nor a global flag's value (argparse's own reading of them)."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False,
                                     formatter_class=HelpFormatter)
    _global_flags(parser)
    try:
        _, rest = parser.parse_known_args(argv)
    except argparse.ArgumentError:
        return None   # a bad global flag: the full parser says what is wrong
    return next((word for word in rest if word in COMMANDS), None)


def _do_flags(p: argparse.ArgumentParser) -> None:
    _sandbox_flags(p, argparse.SUPPRESS)
    p.add_argument("--volume", "-v", action="append", default=[], metavar="SRC:DST[:ro]",
                   help="bind host path SRC at DST in the sandbox (writes reach the host unless :ro)")
    p.add_argument("--tmpfs", action="append", default=[], metavar="DST",
                   help="mount an empty tmpfs at DST")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")


def _syscalls_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")


# runc's commands, with the flags go-runc, dockerd and podman pass.

def _create_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", "-b", default=".")
    p.add_argument("--pid-file", default=None)
    p.add_argument("--console-socket", default=None)
    p.add_argument("--preserve-fds", type=int, default=0)
    p.add_argument("--no-pivot", action="store_true", help="accepted (the sentry never pivots)")
    p.add_argument("--no-new-keyring", action="store_true", help="accepted (keyrings are denied)")


def _run_flags(p: argparse.ArgumentParser) -> None:
    _create_flags(p)
    p.add_argument("--detach", "-d", action="store_true")


def _kill_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("signal", nargs="?", default="SIGTERM")
    p.add_argument("--all", "-a", action="store_true", help="signal every process")


def _delete_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", "-f", action="store_true", help="kill it first if it runs")


def _list_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", "-f", choices=["table", "json"], default="table")
    p.add_argument("--quiet", "-q", action="store_true")


def _ps_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", "-f", choices=["table", "json"], default="table")
    p.add_argument("ps_args", nargs="*", help=argparse.SUPPRESS)


def _events_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stats", action="store_true", help="print once and exit")
    p.add_argument("--interval", default="5s")


def _update_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resources", "-r", default=None, metavar="FILE")


def _spec_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", "-b", default=".")
    p.add_argument("--rootless", action="store_true")


def _exec_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--process", "-p", default=None)
    p.add_argument("--detach", "-d", action="store_true")
    p.add_argument("--pid-file", default=None)
    p.add_argument("--console-socket", default=None)
    p.add_argument("--tty", "-t", action="store_true")
    p.add_argument("--cwd", default=None)
    p.add_argument("--env", "-e", action="append", default=[])
    p.add_argument("--user", "-u", default=None)
    p.add_argument("args", nargs=argparse.REMAINDER)


def _no_flags(p: argparse.ArgumentParser) -> None:
    pass


# name -> (help, takes an ID, its flags)
COMMANDS = {
    "do": ("run a command sandboxed, with the host's root read-only", False, _do_flags),
    "syscalls": ("the syscall table: what is emulated, native, denied", False, _syscalls_flags),
    "create": ("create a container from a bundle (init waits for start)", True, _create_flags),
    "run": ("create, start, wait for and delete a container", True, _run_flags),
    "start": ("run a created container's program", True, _no_flags),
    "state": ("print a container's OCI state", True, _no_flags),
    "kill": ("signal a container's init (default SIGTERM)", True, _kill_flags),
    "delete": ("delete a stopped container", True, _delete_flags),
    "list": ("list containers", False, _list_flags),
    "ps": ("list a container's processes (host pids)", True, _ps_flags),
    "pause": ("freeze a running container", True, _no_flags),
    "resume": ("thaw a paused container", True, _no_flags),
    "events": ("resource usage of a container", True, _events_flags),
    "update": ("change a running container's resources", True, _update_flags),
    "spec": ("write a default config.json", False, _spec_flags),
    "features": ("print what this runtime supports (JSON)", False, _no_flags),
    "exec": ("run another process in a running container", True, _exec_flags),
}


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


def main(argv: list[str] | None = None) -> int:
    argv = _runc_spelling(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_word(argv))
    args = parser.parse_args(argv)
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
