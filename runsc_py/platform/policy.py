"""The seccomp filter, generated from the syscall table's policies by libseccomp.

Each syscall number gets one of five policies:

    NATIVE  the host runs it (data path on sentry-installed fds, memory,
            futex, time reads, signal frames)
    TRAP    the sentry handles it (the platform's trap action)
    EXEC    the sentry rewrites it at a ptrace stop (execve, execveat)
    AT_EXIT traced on both platforms: the host runs it, and the sentry amends
            what it wrote at its syscall-exit stop (waitid, rt_sigtimedwait)
    DENY    fails with an errno in the kernel, without a round trip

Every number not named runs the platform's trap action, so the sentry sees
it and answers ENOSYS: nothing unknown runs natively. Other architectures
(i386 `int 0x80`, x32) are killed by libseccomp's bad-arch action or reach
the sentry as unknown numbers.
"""
from __future__ import annotations

import enum
import os
import struct

from runsc_py._interpose import ffi, lib
from runsc_py.platform import filter_cache

SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5


# Argument rules: a trapped call runs natively when one argument register is
# zero. sendto and recvfrom without an address are send and recv on a
# socket the sentry installed, the data path of a connection; with an
# address they trap so the sentry can translate it. Nothing else the call
# can name: the flags and buffer are the workload's own. prlimit64 without a
# new limit only reads (every dynamic program's loader asks for RLIMIT_STACK),
# except the limits the sentry keeps (RLIMIT_CORE, RLIMIT_NPROC: the host's
# differ), which trap whatever the call.
NATIVE_WHEN_ARG_ZERO = {44: 4, 45: 4,   # sendto(dest_addr), recvfrom(src_addr)
                        302: 2}         # prlimit64(new_limit)
TRAP_WHEN_ARG_IS = {302: (1, (4, 6))}   # prlimit64(resource): RLIMIT_CORE, RLIMIT_NPROC
def argument_rule_allows(nr: int, args) -> bool:
    """Whether the argument rules (above) let this call run without trapping:
    what `argument_rules`' BPF decides, for the sentry's own bookkeeping."""
    arg = NATIVE_WHEN_ARG_ZERO.get(nr)
    if arg is None or args[arg] & 0xFFFFFFFFFFFFFFFF:
        return False
    trapped = TRAP_WHEN_ARG_IS.get(nr)
    return trapped is None or args[trapped[0]] & 0xFFFFFFFFFFFFFFFF not in trapped[1]


AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_RET_ALLOW = 0x7FFF0000
_BPF_LD_ABS, _BPF_JEQ, _BPF_JA, _BPF_RET = 0x20, 0x15, 0x05, 0x06
_INSN = struct.Struct("<HBBI")


class Policy(enum.Enum):
    NATIVE = "native"
    TRAP = "trap"
    EXEC = "exec"
    AT_EXIT = "at-exit"
    DENY = "deny"


def build_filter(policies: dict[int, tuple[Policy, int]], trap_action: int,
                 default_action: int | None = None, always_trap=frozenset()) -> bytes:
    """Compile {nr: (policy, errno)} into classic BPF, as bytes of sock_filter.

    `trap_action` is the platform's action for TRAP (and the default, unless
    `default_action` is given): the seccomp platform notifies, the ptrace
    platform traces. Calls in `always_trap` get no argument rule: every one
    traps (--inject's).
    """
    default = trap_action if default_action is None else default_action
    rules = []
    for nr, (policy, errno) in sorted(policies.items()):
        action = _action(policy, errno, trap_action)
        if action != default:  # libseccomp refuses rules equal to the default
            rules.append((nr, action))
    if default_action is None and trap_action != lib.RP_ACT_NOTIFY:
        rules.append((lib.RP_NR_INSTALL, lib.RP_ACT_NOTIFY))
    prefix = b""
    if default_action is None:
        prefix = argument_rules(sorted((nr, arg) for nr, arg in NATIVE_WHEN_ARG_ZERO.items()
                                       if policies.get(nr, (Policy.TRAP, 0))[0] is Policy.TRAP
                                       and nr not in always_trap))
    return prefix + filter_cache.compiled(rules, default)


def argument_rules(rules: list[tuple[int, int]]) -> bytes:
    """Classic BPF run before libseccomp's program: ALLOW (nr, arg) calls whose
    arg is 0, unless TRAP_WHEN_ARG_IS names a value of another argument.

    Every other call falls through to the first instruction of the
    libseccomp program (jumps are relative, so prepending keeps it intact).
    """
    if not rules:
        return b""
    # Instructions with symbolic jump targets: "next" (the next call's
    # block), "end" (libseccomp's program), "allow"; resolved below.
    blocks = [_argument_block(nr, arg) for nr, arg in rules]
    body = [insn for block in blocks for insn in block]
    starts, at = [], 0
    for block in blocks:
        starts.append(at)
        at += len(block)
    allow_at, end_at = len(body) + 1, len(body) + 2    # after `ja +1`: `ret ALLOW`, then libseccomp
    resolved, index = [], 0
    for b, block in enumerate(blocks):
        next_at = starts[b + 1] if b + 1 < len(blocks) else len(body)
        where = {"next": next_at, "end": end_at, "allow": allow_at}
        for code, jt, jf, k in block:
            jt, jf, k = (where[v] - index - 1 if isinstance(v, str) else v for v in (jt, jf, k))
            resolved.append((code, jt, jf, k))
            index += 1
    head = [(_BPF_LD_ABS, 0, 0, 4), (_BPF_JEQ, 0, len(body) + 3, AUDIT_ARCH_X86_64),
            (_BPF_LD_ABS, 0, 0, 0)]
    tail = [(_BPF_JA, 0, 0, 1), (_BPF_RET, 0, 0, SECCOMP_RET_ALLOW)]
    return b"".join(_INSN.pack(*insn) for insn in head + resolved + tail)


def _argument_block(nr: int, arg: int) -> list[tuple]:
    """One call's test: the accumulator holds the syscall number on entry,
    and does again wherever the block jumps to "next"."""
    lo = 16 + 8 * arg
    block = [
        (_BPF_JEQ, 0, "next", nr),
        (_BPF_LD_ABS, 0, 0, lo),
        (_BPF_JEQ, 0, "end", 0),
        (_BPF_LD_ABS, 0, 0, lo + 4),
    ]
    trapped = TRAP_WHEN_ARG_IS.get(nr)
    if trapped is None:
        return block + [(_BPF_JEQ, "allow", "end", 0)]
    other, values = trapped
    block += [(_BPF_JEQ, 0, "end", 0), (_BPF_LD_ABS, 0, 0, 16 + 8 * other)]
    block += [(_BPF_JEQ, "end", 0, v) for v in values]
    return block + [(_BPF_JA, 0, 0, "allow")]


NR_READ, NR_READV = 0, 19
SECCOMP_RET_TRACE = 0x7FF00000


def reads_traced(fd: int, data: int) -> bytes:
    """Classic BPF for a filter a workload process stacks on its own:
    `read` and `readv` of `fd` trace (RET_TRACE with `data`), all else is
    allowed (the sandbox's filter below still decides). The fd is compared
    in its low 32 bits, as the kernel reads it."""
    program = [
        (_BPF_LD_ABS, 0, 0, 4),                          # arch
        (_BPF_JEQ, 0, 6, AUDIT_ARCH_X86_64),
        (_BPF_LD_ABS, 0, 0, 0),                          # nr
        (_BPF_JEQ, 1, 0, NR_READ),
        (_BPF_JEQ, 0, 3, NR_READV),
        (_BPF_LD_ABS, 0, 0, 16),                         # args[0], low half
        (_BPF_JEQ, 0, 1, fd),
        (_BPF_RET, 0, 0, SECCOMP_RET_TRACE | data),
        (_BPF_RET, 0, 0, SECCOMP_RET_ALLOW),
    ]
    return b"".join(_INSN.pack(*insn) for insn in program)


def _action(policy: Policy, errno: int, trap_action: int) -> int:
    if policy is Policy.NATIVE:
        return lib.RP_ACT_ALLOW
    if policy is Policy.EXEC:
        return lib.RP_ACT_TRACE | lib.RP_TRACE_EXEC
    if policy is Policy.AT_EXIT:
        return lib.RP_ACT_TRACE | lib.RP_TRACE_SYSCALL
    if policy is Policy.DENY:
        return lib.RP_ACT_ERRNO | errno
    return trap_action


SECCOMP_FILTER_FLAG_TSYNC = 1 << 0
SECCOMP_RET_LOG = 0x7FFC0000


def allow_list(allowed: dict[int, str], errno: int | None = None, *,
               default_action: int | None = None) -> bytes:
    """An allow-list filter: every call but `allowed` fails with `errno`, or
    meets `default_action` (e.g. RP_ACT_KILL_PROCESS). Built before the
    process leaves the host's tree, so its program can be kept
    (filter_cache); loaded after, with `load_self`."""
    action = default_action if default_action is not None else lib.RP_ACT_ERRNO | errno
    return build_filter({nr: (Policy.NATIVE, 0) for nr in allowed}, action,
                        default_action=action)


def confine_self(allowed: dict[int, str], errno: int | None = None, *,
                 default_action: int | None = None, flags: int = 0) -> None:
    """Build and load an allow-list filter on this process (`allow_list`)."""
    load_self(allow_list(allowed, errno, default_action=default_action), flags)


def load_self(bpf: bytes, flags: int = 0) -> None:
    """Load a filter on this process. `flags` are SECCOMP_FILTER_FLAG_*:
    TSYNC for a process with threads."""
    rc = lib.rp_filter_load_self(ffi.from_buffer(bpf), len(bpf) // 8, flags)
    if rc < 0:
        raise OSError(-rc, f"cannot load a seccomp filter: {os.strerror(-rc)}")
    if rc > 0:
        raise OSError(0, f"cannot load a seccomp filter: thread {rc} could not take it")
