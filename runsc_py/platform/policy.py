"""The seccomp filter, generated from the syscall table's policies by libseccomp.

Each syscall number gets one of four policies:

    NATIVE  the host runs it (data path on sentry-installed fds, memory,
            futex, time reads, signal frames)
    TRAP    the sentry handles it (the platform's trap action)
    EXEC    the sentry rewrites it at a ptrace stop (execve, execveat)
    DENY    fails with an errno in the kernel, without a round trip

Every number not named runs the platform's trap action, so the sentry sees
it and answers ENOSYS: nothing unknown runs natively. Other architectures
(i386 `int 0x80`, x32) are killed by libseccomp's bad-arch action or reach
the sentry as unknown numbers.
"""
from __future__ import annotations

import enum
import os

from runsc_py._interpose import ffi, lib

SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5


class Policy(enum.Enum):
    NATIVE = "native"
    TRAP = "trap"
    EXEC = "exec"
    DENY = "deny"


def build_filter(policies: dict[int, tuple[Policy, int]], trap_action: int,
                 default_action: int | None = None) -> bytes:
    """Compile {nr: (policy, errno)} into classic BPF, as bytes of sock_filter.

    `trap_action` is the platform's action for TRAP (and the default, unless
    `default_action` is given): the seccomp platform notifies, the ptrace
    platform traces.
    """
    default = trap_action if default_action is None else default_action
    rules = []
    for nr, (policy, errno) in sorted(policies.items()):
        action = _action(policy, errno, trap_action)
        if action != default:  # libseccomp refuses rules equal to the default
            rules.append((nr, action))
    if default_action is None and trap_action != lib.RP_ACT_NOTIFY:
        rules.append((lib.RP_NR_INSTALL, lib.RP_ACT_NOTIFY))
    c_rules = ffi.new("struct rp_rule[]", len(rules))
    for i, (nr, action) in enumerate(rules):
        c_rules[i].nr = nr
        c_rules[i].action = action
    fd = os.memfd_create("runsc-py-filter", os.MFD_CLOEXEC)
    try:
        rc = lib.rp_filter_build(c_rules, len(rules), default, fd)
        if rc < 0:
            raise OSError(-rc, f"libseccomp could not build the filter: {os.strerror(-rc)}")
        return os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)


def _action(policy: Policy, errno: int, trap_action: int) -> int:
    if policy is Policy.NATIVE:
        return lib.RP_ACT_ALLOW
    if policy is Policy.EXEC:
        return lib.RP_ACT_TRACE | lib.RP_TRACE_EXEC
    if policy is Policy.DENY:
        return lib.RP_ACT_ERRNO | errno
    return trap_action


def confine_self(allowed: dict[int, str], errno: int) -> None:
    """Load an allow-list filter on this process: every other call fails with errno."""
    bpf = build_filter({nr: (Policy.NATIVE, 0) for nr in allowed}, lib.RP_ACT_ERRNO | errno,
                       default_action=lib.RP_ACT_ERRNO | errno)
    rc = lib.rp_filter_load_self(ffi.from_buffer(bpf), len(bpf) // 8)
    if rc < 0:
        raise OSError(-rc, f"cannot load a seccomp filter: {os.strerror(-rc)}")
