"""`runsc-py`: the command line, runc's shape with gVisor's extras.

Global flags go before the command, as with runc; the sandboxing flags
(--platform, --strace, ...) are also accepted after `do`.
"""
from __future__ import annotations

import argparse
import sys

VERSION = "0.1.0"
OCI_SPEC_VERSION = "1.1.0"


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
    parser.add_argument("--network", choices=["sandbox", "host", "none"], default=d("sandbox"),
                        help="sandbox: the sentry's own network (default); none: loopback only; "
                             "host: host sockets in the host's network namespace")
    parser.add_argument("--egress", metavar="CIDR[:PORT[-PORT]],...", action="append",
                        default=d([]), help="outside addresses the sandbox may connect to "
                                            "(default: none)")
    parser.add_argument("--publish", metavar="HOSTPORT:SANDBOXPORT", action="append",
                        default=d([]), help="forward a host TCP port into a sandbox listener")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runsc-py", description=__doc__.splitlines()[0])
    parser.add_argument("--version", "-v", action="store_true", help="print the version")
    parser.add_argument("--root", default="/run/runsc-py", help="state directory")
    parser.add_argument("--log", default=None, help="log file")
    parser.add_argument("--log-format", choices=["text", "json"], default="text")
    parser.add_argument("--debug", action="store_true")
    _sandbox_flags(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    do = sub.add_parser("do", help="run a command sandboxed, with the host's root read-only")
    _sandbox_flags(do, argparse.SUPPRESS)
    do.add_argument("--volume", "-v", action="append", default=[], metavar="SRC:DST[:ro]",
                    help="bind host path SRC at DST in the sandbox (writes reach the host unless :ro)")
    do.add_argument("--tmpfs", action="append", default=[], metavar="DST",
                    help="mount an empty tmpfs at DST")
    do.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")

    sc = sub.add_parser("syscalls", help="the syscall table: what is emulated, native, denied")
    sc.add_argument("--format", choices=["table", "json", "csv"], default="table")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
