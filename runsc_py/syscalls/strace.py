"""`--strace`: one strace-style line per trapped syscall, decoded from the table.

Argument names and C types come from python-ptrace's prototypes (loaded
only when tracing, they cost ~30 ms); strings are read from the caller's
memory, everything else prints as a number. Runs after the handler, so a
path shows as the caller passed it and the result is the one it got.
"""
from __future__ import annotations

import errno as errno_mod

from runsc_py.platform import HELD, NATIVE, AtExit, ExecVia, InstallFds
from runsc_py.sentry.errors import SyscallError

STRING_TYPES = {"const char *", "char *"}
MAX_STRING = 64


class Strace:
    def __init__(self, out, table):
        from ptrace.syscall.prototypes import SYSCALL_PROTOTYPES

        table.load_names()   # before the sentry confines itself
        self.out = out
        self.table = table
        self.prototypes = SYSCALL_PROTOTYPES

    def record(self, ctx, entry, result, injected: bool = False) -> None:
        name = entry.name if entry is not None else self.table.name(ctx.call.nr)
        args = self._format_args(ctx, name)
        if injected:
            note = " (injected)"
        else:
            note = " (unimplemented)" if entry is None or entry.handler is None else ""
        self.out.write(f"[{ctx.process.vpid:>5}] {name}({args}) = {_format_result(result)}{note}\n")
        self.out.flush()

    def _format_args(self, ctx, name: str) -> str:
        proto = self.prototypes.get(name)
        raw = ctx.call.args
        if proto is None:
            return ", ".join(hex(a) for a in raw[:3])
        out = []
        for (ctype, _argname), value in zip(proto[1], raw):
            out.append(self._format_arg(ctx, ctype, value))
        return ", ".join(out)

    @staticmethod
    def _format_arg(ctx, ctype: str, value: int) -> str:
        if ctype in STRING_TYPES and value:
            try:
                s = ctx.kernel.platform.read_cstring(ctx.task.host_tid, value, 4096)
            except Exception:  # noqa: BLE001 - a bad pointer prints as a pointer
                return hex(value)
            if s is None:
                return hex(value)
            text = repr(s[:MAX_STRING])[1:]
            return text if len(s) <= MAX_STRING else text[:-1] + '"...'
        if "*" in ctype:
            return hex(value) if value else "NULL"
        if ctype in ("int", "unsigned int", "pid_t", "umode_t", "uid_t", "gid_t"):
            v = value & 0xFFFFFFFF
            return str(v - (1 << 32) if ctype in ("int", "pid_t") and v & 0x80000000 else v)
        return str(value)


def _format_result(result) -> str:
    if isinstance(result, int):
        if result < 0:
            code = -result
            return f"-1 {errno_mod.errorcode.get(code, code)} ({SyscallError(code)})"
        return str(result)
    if result is NATIVE:
        return "? <native>"
    if result is HELD:
        return "? <parked>"
    if isinstance(result, InstallFds):
        return str(result.value)
    if isinstance(result, ExecVia):
        return "0 <exec>"
    if isinstance(result, AtExit):
        return "? <native, amended at exit>"
    return repr(result)
