"""linux.seccomp: the OCI profile compiled by libseccomp and enforced by the host.

The profile's filter is loaded in every workload process before the
sentry's own (`Interposer.profile_bpf`). The kernel runs both and the
stronger action wins (KILL > TRAP > ERRNO > USER_NOTIF > TRACE > ALLOW),
so a call the profile denies fails with the profile's errno (or kills)
before the sentry sees it, and a call it allows is then trapped or run
natively as the syscall table says. Only the workload's own syscalls
are filtered; the sentry and gofer are not subject to it. Actions that
would compete with the sentry's own interception (SCMP_ACT_TRACE,
SCMP_ACT_NOTIFY) are refused.
"""
from __future__ import annotations

import dataclasses
import errno as errnos
import os

from runsc_py.oci.spec import SpecError

ACT_KILL_PROCESS = 0x80000000
ACT_KILL_THREAD = 0x00000000
ACT_TRAP = 0x00030000
ACT_ERRNO = 0x00050000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000
OPS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
       "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
NATIVE_ARCHES = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}


@dataclasses.dataclass(frozen=True)
class Rule:
    nr: int
    action: int
    conds: tuple[tuple[int, int, int, int], ...]   # (arg, op, a, b)


@dataclasses.dataclass(frozen=True)
class Profile:
    default_action: int
    rules: tuple[Rule, ...]


def action(name: str, errno_ret: int | None, where: str) -> int:
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return ACT_KILL_THREAD
    if name == "SCMP_ACT_KILL_PROCESS":
        return ACT_KILL_PROCESS
    if name == "SCMP_ACT_TRAP":
        return ACT_TRAP
    if name == "SCMP_ACT_ERRNO":
        return ACT_ERRNO | ((errno_ret if errno_ret is not None else errnos.EPERM) & 0xFFFF)
    if name == "SCMP_ACT_LOG":
        return ACT_LOG
    if name == "SCMP_ACT_ALLOW":
        return ACT_ALLOW
    if name in ("SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY"):
        raise SpecError(f"{where}: {name} is not supported: the sentry itself traces and "
                        "receives the workload's syscalls")
    raise SpecError(f"{where}: unknown action {name!r}")


def parse(doc: dict) -> Profile:
    from runsc_py._interpose import lib

    arches = set(doc.get("architectures") or [])
    if arches and not arches & NATIVE_ARCHES:
        raise SpecError(f"linux.seccomp.architectures {sorted(arches)} has no x86 architecture")
    default = action(doc.get("defaultAction", ""), doc.get("defaultErrnoRet"),
                     "linux.seccomp.defaultAction")
    rules = []
    for i, item in enumerate(doc.get("syscalls") or []):
        where = f"linux.seccomp.syscalls[{i}]"
        act = action(item.get("action", ""), item.get("errnoRet"), where)
        conds = []
        for arg in item.get("args") or []:
            op = OPS.get(arg.get("op", ""))
            if op is None or not 0 <= int(arg.get("index", -1)) <= 5:
                raise SpecError(f"{where}: bad argument condition {arg!r}")
            conds.append((int(arg["index"]), op, int(arg.get("value", 0)),
                          int(arg.get("valueTwo", 0))))
        if act == default:
            continue   # libseccomp refuses rules equal to the default, and they change nothing
        for name in item.get("names") or []:
            nr = lib.rp_syscall_nr(name.encode())
            if nr < 0:
                continue   # a syscall this architecture does not have (runc skips them too)
            rules.append(Rule(nr, act, tuple(conds)))
    return Profile(default, tuple(rules))


def compile_profile(profile: Profile, allow_nrs: tuple[int, ...] = ()) -> bytes:
    """The profile as classic BPF. `allow_nrs` are the sentry's private numbers
    (RP_NR_INSTALL), which must reach its own filter whatever the default."""
    from runsc_py._interpose import ffi, lib

    rules = list(profile.rules)
    if profile.default_action != ACT_ALLOW:
        rules += [Rule(nr, ACT_ALLOW, ()) for nr in allow_nrs]
    c_rules = ffi.new("struct rp_cond_rule[]", max(1, len(rules)))
    for i, rule in enumerate(rules):
        c_rules[i].nr, c_rules[i].action, c_rules[i].ncond = rule.nr, rule.action, len(rule.conds)
        for j, (arg, op, a, b) in enumerate(rule.conds):
            c_rules[i].conds[j] = {"arg": arg, "op": op, "a": a, "b": b}
    failed = ffi.new("int32_t *", -1)
    fd = os.memfd_create("runsc-py-oci-seccomp", os.MFD_CLOEXEC)
    try:
        rc = lib.rp_filter_build_cond(c_rules, len(rules), profile.default_action, fd, failed)
        if rc < 0:
            which = f" (syscall {rules[failed[0]].nr})" if failed[0] >= 0 else ""
            raise SpecError(f"linux.seccomp: libseccomp refused the profile{which}: "
                            f"{os.strerror(-rc)}")
        return os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)
