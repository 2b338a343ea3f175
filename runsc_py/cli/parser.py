"""The command line's grammar: runc's commands and flags, with gVisor's extras.

Its own module so that `runsc-py create` and `run` can fork the sandbox
process before argparse (and what it pulls in: gettext, locale) is
imported; see runsc_py/cli/early.py.
"""
from __future__ import annotations

import argparse
import os
import sys


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
                        help="write the --strace output to FILE instead of stderr (implies --strace)")
    parser.add_argument("--report", action="store_true", default=d(False),
                        help="at exit, list the unimplemented syscalls the workload made")
    parser.add_argument("--report-format", choices=["text", "json"], default=d("text"))
    parser.add_argument("--report-file", metavar="FILE", default=d(None),
                        help="write the --report to FILE instead of stderr (implies --report)")
    parser.add_argument("--overlay", choices=["memory", "none"], default=d(None),
                        help="memory: the root is an overlay whose changes live in sentry "
                             "memory (the default for `do`); none: the root itself (the "
                             "default for a container: its rootfs, where engines see the "
                             "changes; read-only for `do`)")
    parser.add_argument("--cpu-pin", choices=["on", "off", "auto"], default=d("auto"),
                        help="do: run the sentry, the gofer and the workload on one CPU (wake-ups "
                             "on the waker's CPU: about twice as fast for sequential programs, "
                             "but one core for everything; the workload still sees its CPUs in "
                             "sched_getaffinity). auto (the default): when --cpus is at most 1")
    parser.add_argument("--pids-limit", metavar="N", type=int, default=d(None),
                        help="at most N tasks (threads count) in the sandbox; more clones fail "
                             "with EAGAIN")
    parser.add_argument("--network", choices=["sandbox", "host", "none"], default=d(None),
                        help="sandbox: the sentry's own network (the default, but for a "
                             "container whose spec gives it a network namespace: host); "
                             "none: loopback only; host: host sockets in the sandbox "
                             "process's network namespace (the host's for do, else the "
                             "container's)")
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


def command_word(argv: list[str]) -> str | None:
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
    p.add_argument("--memory", metavar="SIZE", default=None,
                   help="at most SIZE (512M, 2G) of memory for the whole sandbox (a cgroup)")
    p.add_argument("--cpus", metavar="N", type=float, default=None,
                   help="at most N CPUs' time for the whole sandbox (a cgroup's quota)")
    p.add_argument("--user", "-u", metavar="UID[:GID]", default=None,
                   help="run the command as the sandbox's user UID, group GID (default: UID's "
                        "number), with no capability unless UID is 0 (default: root)")
    p.add_argument("--file-size-limit", metavar="SIZE", default=None,
                   help="the largest file (1M, 512K) the command may write: RLIMIT_FSIZE, so "
                        "a larger write is cut short and sends SIGXFSZ")
    p.add_argument("--inject", action="append", default=[], metavar="SPEC",
                   help="fail the calls SPEC names with its errno, answered by the sandbox: "
                        "SYSCALL:ERRNO[:path=P][:fd=N][:port=N][:after=SIZE][:nth=N][:prob=P] "
                        "(e.g. openat:ENOENT:path=/etc/hosts, write:ENOSPC:after=1M, "
                        "*:EINTR:prob=0.01); repeatable; see docs/compatibility-testing.md")
    p.add_argument("--seed", type=int, default=0,
                   help="the seed of --inject's prob= draws (a run is repeatable)")
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
