"""The syscall table and the filter built from it."""
import pytest

from runsc_py._interpose import lib
from runsc_py.platform.policy import Policy, build_filter
from runsc_py.syscalls.table import ROWS, TABLE


def test_one_row_per_number():
    assert len({r.nr for r in ROWS}) == len(ROWS)


def test_support_levels_match_policies():
    for row in ROWS:
        if row.policy is Policy.NATIVE:
            assert row.support == "native" and row.handler is None, row
        elif row.policy is Policy.DENY:
            assert row.support == "denied" and row.errno, row
        elif row.handler is None:
            assert row.support == "unimplemented", row
        else:
            assert row.support in ("full", "partial"), row


def test_dangerous_calls_never_run_natively():
    for name in ("ptrace", "io_uring_setup", "io_uring_enter", "bpf", "setns", "pivot_root",
                 "open_by_handle_at", "init_module", "kexec_load", "userfaultfd", "perf_event_open"):
        row = next(r for r in ROWS if r.name == name)
        assert row.policy is Policy.DENY, name
    for name in ("mount", "umount2"):   # the sentry's VFS answers them: never the host
        row = next(r for r in ROWS if r.name == name)
        assert row.policy is Policy.TRAP and not row.may_run_natively, name
    for name in ("execve", "execveat"):
        assert next(r for r in ROWS if r.name == name).policy is Policy.EXEC


def test_unshare_traps_and_never_makes_a_namespace():
    """unshare runs natively only after the sentry checked its flags (a
    register): every namespace flag the host would make is EPERM, alone
    or with others; the namespaces the sentry makes (UTS, mount) are never
    run natively."""
    import errno
    import types

    from runsc_py.platform import NATIVE
    from runsc_py.sentry.errors import SyscallError
    from runsc_py.syscalls import process

    assert next(r for r in ROWS if r.name == "unshare").policy is Policy.TRAP
    ctx = types.SimpleNamespace()   # refused before the process is looked at
    for flag in (0x80, 0x2000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000):
        for flags in (flag, flag | 0x400 | 0x200, flag | 0x4000000, flag | 0x20000):
            with pytest.raises(SyscallError) as refused:
                process.unshare(ctx, flags)
            assert refused.value.errno == errno.EPERM, hex(flags)

    def caller(capable: bool):
        creds = types.SimpleNamespace(capable=lambda cap: capable)
        proc = types.SimpleNamespace(creds=creds, threads={1: None}, uts=None, mntns=None,
                                     fs=types.SimpleNamespace(copy=lambda: "own fs"))
        kernel = types.SimpleNamespace(
            uts_now=lambda: types.SimpleNamespace(copy=lambda: "own uts"),
            vfs=types.SimpleNamespace(initial="first", unshare=lambda ns: "own ns",
                                      use=lambda ns: None),
            tasks=types.SimpleNamespace(processes={}), republish=lambda p: None)
        return types.SimpleNamespace(process=proc, kernel=kernel)

    # the sentry's namespaces: for a caller with CAP_SYS_ADMIN; never beside
    # CLONE_FILES, which the host would have to run with them
    for capable, flags in ((False, 0x4000000), (False, 0x20000), (True, 0x4000000 | 0x400),
                           (True, 0x20000 | 0x400)):
        with pytest.raises(SyscallError) as refused:
            process.unshare(caller(capable), flags)
        assert refused.value.errno == errno.EPERM, (capable, hex(flags))
    for flags in (0x4000000, 0x20000, 0x4000000 | 0x20000 | 0x200):
        ctx = caller(True)
        assert process.unshare(ctx, flags) is not NATIVE, hex(flags)
    assert (ctx.process.uts, ctx.process.mntns) == ("own uts", "own ns")


def test_handlers_take_their_arguments():
    for row in ROWS:
        if row.handler is not None:
            assert 0 <= row.nargs <= 6, row


def test_filter_builds_for_both_platforms():
    for action in (lib.RP_ACT_NOTIFY, lib.RP_ACT_TRACE | lib.RP_TRACE_SYSCALL):
        bpf = build_filter(TABLE.policies(), action)
        assert len(bpf) % 8 == 0 and 0 < len(bpf) // 8 < 4096
