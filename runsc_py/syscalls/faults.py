"""`runsc-py do --inject SPEC`: failures the sandbox answers in place of calls.

A SPEC names a syscall (or `*`, every one), an errno, and conditions:

    openat:ENOENT:path=/etc/hosts      the call's path is exactly this
    read:EIO:fd=3:nth=2                its fd is 3; only the 2nd such call
    write:ENOSPC:after=1M              once 1 MiB has been asked to be written
    connect:ECONNREFUSED:port=5432     its socket address has this port
    *:EINTR:prob=0.01                  each call, with this probability
    clone:EAGAIN:nth=5

Conditions: `path=` (the first string argument, as the caller passed it),
`fd=` (the first argument), `port=` (an AF_INET/AF_INET6 address's),
`after=SIZE` (bytes the call family's count arguments asked for before),
`nth=N` (the Nth call meeting the others), `prob=P` (drawn from one
generator seeded by `--seed`, so a run is repeatable). Several rules may
be given; the first that fires answers. The injected failure is the
sentry's answer: the call never reaches the host, the gofer or the
sentry's own handler. A rule's calls are all trapped, even those the
table lets run natively, and the C fast path is off, so none escapes it;
each injection is in `--strace` (marked "injected") and in the report.
"""
from __future__ import annotations

import errno as errno_mod
import random
import struct

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.limits import parse_size
from runsc_py.syscalls.context import as_int

KEYS = {"path", "fd", "port", "after", "nth", "prob"}
COUNT_ARGUMENT = {"read": 2, "write": 2, "pread64": 2, "pwrite64": 2, "sendto": 2,
                  "recvfrom": 2, "sendfile": 3, "splice": 4, "copy_file_range": 4}
ADDRESS_ARGUMENT = {"connect": 1, "bind": 1, "sendto": 4}


class Rule:
    """One SPEC: which calls, which errno, on which conditions."""

    def __init__(self, spec: str, numbers: dict[str, int]):
        parts = spec.split(":")
        if len(parts) < 2:
            raise ValueError(f"--inject {spec!r}: SYSCALL:ERRNO[:KEY=VALUE...]")
        self.spec, self.name, errname = spec, parts[0], parts[1]
        if self.name != "*" and self.name not in numbers:
            raise ValueError(f"--inject {spec!r}: no syscall named {self.name!r}")
        self.errno = getattr(errno_mod, errname, None) if errname.isupper() else None
        if not isinstance(self.errno, int):
            raise ValueError(f"--inject {spec!r}: {errname!r} is not an errno name "
                             "(ENOENT, EIO...)")
        self.nr = numbers.get(self.name)
        self.conditions = dict(_condition(spec, part) for part in parts[2:])
        self.seen = 0       # calls that met every condition but nth and prob
        self.asked = 0      # bytes asked for (after=)
        self.injected = 0

    def matches(self, nr: int) -> bool:
        return self.nr is None or self.nr == nr


def _condition(spec: str, part: str) -> tuple[str, object]:
    key, sep, value = part.partition("=")
    if not sep or key not in KEYS:
        raise ValueError(f"--inject {spec!r}: {part!r} is not one of "
                         + ", ".join(f"{k}=" for k in sorted(KEYS)))
    try:
        if key == "path":
            return key, value
        if key == "after":
            return key, parse_size(value)
        if key == "prob":
            p = float(value)
            if not 0 <= p <= 1:
                raise ValueError
            return key, p
        return key, int(value, 0)
    except ValueError:
        raise ValueError(f"--inject {spec!r}: bad value in {part!r}") from None


class Faults:
    """The rules of a run, checked before each trapped call is handled."""

    def __init__(self, specs: list[str], table, seed: int = 0):
        names = {n: nr for nr, n in table.load_names().items()}
        names.update({row.name: nr for nr, row in table.rows.items()})
        self.rules = [Rule(spec, names) for spec in specs]
        self.random = random.Random(seed)
        self._prototypes = None
        if any("path" in rule.conditions for rule in self.rules):
            # now: an import once the sentry has confined itself could be its end
            from ptrace.syscall.prototypes import SYSCALL_PROTOTYPES

            self._prototypes = SYSCALL_PROTOTYPES

    def numbers(self) -> set[int] | None:
        """The syscalls that must trap (None: every one)."""
        if any(rule.nr is None for rule in self.rules):
            return None
        return {rule.nr for rule in self.rules}

    def check(self, ctx, name: str) -> int:
        """The errno to answer `ctx`'s call with, or 0 to handle it as always."""
        for rule in self.rules:
            if rule.matches(ctx.call.nr) and self._fires(rule, ctx, name):
                rule.injected += 1
                return rule.errno
        return 0

    def _fires(self, rule: Rule, ctx, name: str) -> bool:
        cond, args = rule.conditions, ctx.call.args
        if "fd" in cond and as_int(args[0]) != cond["fd"]:
            return False
        if "path" in cond and self._path(ctx, name) != cond["path"]:
            return False
        if "port" in cond and self._port(ctx, name) != cond["port"]:
            return False
        if "after" in cond:
            asked = rule.asked
            at = COUNT_ARGUMENT.get(name)
            rule.asked += args[at] if at is not None else 0
            if asked < cond["after"]:
                return False
        rule.seen += 1
        if "nth" in cond and rule.seen != cond["nth"]:
            return False
        return "prob" not in cond or self.random.random() < cond["prob"]

    def _path(self, ctx, name: str) -> str | None:
        """The call's first string argument (python-ptrace's prototype says which)."""
        proto = self._prototypes.get(name)
        if proto is None:
            return None
        for (ctype, _argname), value in zip(proto[1], ctx.call.args):
            if ctype in ("const char *", "char *") and value:
                try:
                    return ctx.path(value)
                except SyscallError:
                    return None
        return None

    @staticmethod
    def _port(ctx, name: str) -> int | None:
        at = ADDRESS_ARGUMENT.get(name)
        if at is None or not ctx.call.args[at]:
            return None
        try:
            family, port = struct.unpack("<HH", ctx.read(ctx.call.args[at], 4))
        except SyscallError:
            return None
        return int.from_bytes(port.to_bytes(2, "little"), "big") if family in (2, 10) else None

    def counts(self) -> list[dict]:
        """Each rule and how many calls it failed (the report's)."""
        return [{"rule": r.spec, "injected": r.injected} for r in self.rules]
