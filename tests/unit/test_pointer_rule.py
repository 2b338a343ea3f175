"""No check-then-continue: a call the kernel runs reads no pointer that decides.

Every row that lets the host kernel run the call (NATIVE and AT_EXIT rows,
`checked` rows whose handler may answer NATIVE) declares each pointer
argument its prototype has; none may be DECIDES (syscalls/table.py). Which
arguments are pointers comes from python-ptrace's prototypes (what
`--strace` decodes with), with the few it lacks or types as integers kept here.
"""
import types

import pytest

from runsc_py.platform.policy import NATIVE_WHEN_ARG_ZERO, Policy
from runsc_py.syscalls import file, misc
from runsc_py.syscalls.pointers import CONFINED, DATA, DECIDES, NULL
from runsc_py.syscalls.table import ROWS, TABLE, native

ptrace_prototypes = pytest.importorskip("ptrace.syscall.prototypes")

# python-ptrace 0.9.9 has no prototype for these (newer calls, or arch_prctl)
MISSING = {
    "rt_sigreturn": (),
    "arch_prctl": (("int", "code"), ("unsigned long *", "addr")),
    "preadv2": (("unsigned long", "fd"), ("const struct iovec *", "vec"), ("unsigned long", "vlen"),
                ("unsigned long", "pos_l"), ("unsigned long", "pos_h"), ("rwf_t", "flags")),
    "pwritev2": (("unsigned long", "fd"), ("const struct iovec *", "vec"), ("unsigned long", "vlen"),
                 ("unsigned long", "pos_l"), ("unsigned long", "pos_h"), ("rwf_t", "flags")),
    "pkey_mprotect": (("unsigned long", "start"), ("size_t", "len"), ("unsigned long", "prot"),
                      ("int", "pkey")),
    "pkey_alloc": (("unsigned long", "flags"), ("unsigned long", "init_val")),
    "pkey_free": (("int", "pkey"),),
    "rseq": (("struct rseq *", "rseq"), ("u32", "rseq_len"), ("int", "flags"), ("u32", "sig")),
    "pidfd_send_signal": (("int", "pidfd"), ("int", "sig"), ("siginfo_t *", "info"),
                          ("unsigned int", "flags")),
    "close_range": (("unsigned int", "fd"), ("unsigned int", "max_fd"), ("unsigned int", "flags")),
    "futex_waitv": (("struct futex_waitv *", "waiters"), ("unsigned int", "nr_futexes"),
                    ("unsigned int", "flags"), ("struct __kernel_timespec *", "timeout"),
                    ("clockid_t", "clockid")),
    "clone3": (("struct clone_args *", "uargs"), ("size_t", "size")),
}
# arguments typed as integers that some requests use as pointers: declared per request
MULTIPLEXED = {"ioctl": "arg", "fcntl": "arg", "prctl": "arg2"}
# typed as integers, but a pointer (a union of them)
INTEGER_TYPED_POINTERS = {"semctl": {"arg"}}
ALLOWED = {DATA, CONFINED, NULL}


def runs_natively(row) -> bool:
    return row.policy in (Policy.NATIVE, Policy.AT_EXIT) or row.may_run_natively \
        or row.nr in NATIVE_WHEN_ARG_ZERO


def pointer_args(name: str) -> set[str]:
    proto = ptrace_prototypes.SYSCALL_PROTOTYPES.get(name)
    args = proto[1] if proto is not None else MISSING.get(name)
    assert args is not None, f"{name}: no prototype; add it to MISSING with its C types"
    return {arg for ctype, arg in args if "*" in ctype} | INTEGER_TYPED_POINTERS.get(name, set())


def violations(row) -> list[str]:
    """What is wrong with one row's pointer declarations (empty: nothing)."""
    if not runs_natively(row):
        return []
    if row.pointers is None:
        return [f"{row.name}: the kernel runs it, but it declares no pointers"]
    out = []
    declared = dict(row.pointers)
    table = declared.pop("request", None)
    if row.name in MULTIPLEXED:
        if table is None:
            out.append(f"{row.name}: a multiplexer must declare request= (each request's pointer)")
        else:
            out += [f"{row.name}: request {req:#x}'s pointer is {cls}"
                    for req, cls in table.items() if cls not in ALLOWED | {None}]
    elif table is not None:
        out.append(f"{row.name}: request= is for ioctl, fcntl and prctl")
    wanted = pointer_args(row.name)
    out += [f"{row.name}: pointer {arg} undeclared" for arg in sorted(wanted - declared.keys())]
    out += [f"{row.name}: {arg} is not one of its pointers" for arg in sorted(declared.keys() - wanted)]
    for arg, cls in declared.items():
        if cls not in ALLOWED:
            out.append(f"{row.name}: the kernel would read {arg} ({cls}) after the sentry looked")
        if cls == NULL and row.nr in NATIVE_WHEN_ARG_ZERO:
            names = [a for _t, a in ptrace_prototypes.SYSCALL_PROTOTYPES[row.name][1]]
            if names[NATIVE_WHEN_ARG_ZERO[row.nr]] != arg:
                out.append(f"{row.name}: {arg} is NULL, but the filter tests another argument")
    return out


def test_no_row_the_kernel_runs_reads_a_deciding_pointer():
    problems = [p for row in ROWS for p in violations(row)]
    assert not problems, "\n".join(problems)


def test_a_new_native_row_with_an_undeclared_pointer_is_caught():
    assert violations(native(999, "sendmsg")) == ["sendmsg: pointer msg undeclared"]
    assert violations(native(999, "utimensat", filename=DECIDES, utimes=DATA)) == [
        "utimensat: the kernel would read filename (decides) after the sentry looked"]
    assert violations(native(999, "ioctl", "", request={0x5401: DECIDES}))


def test_rows_the_sentry_always_answers_declare_nothing():
    """Declaring pointers is what lets a handler answer NATIVE; these never do."""
    for name in ("sendmsg", "sendmmsg", "recvmsg", "utimensat", "fchownat", "futimesat", "openat2",
                 "execve", "execveat"):
        row = next(r for r in ROWS if r.name == name)
        assert row.pointers is None, name


def test_clone3_is_refused_in_the_filter():
    row = next(r for r in ROWS if r.name == "clone3")
    assert row.policy is Policy.DENY and row.errno == 38   # ENOSYS: libc falls back to clone


def test_host_network_ioctls_are_the_interface_getters():
    from runsc_py.sentry.net import ifreq

    assert set(file.HOST_NETWORK_IOCTLS) == ifreq.GETTERS


def test_native_prctls_and_recorded_ones_are_declared():
    row = TABLE.entry(157)
    assert set(row.pointers["request"]) == set(misc.NATIVE_PRCTLS) | set(misc.RECORDED_PRCTLS)


class _Ctx:
    def __init__(self, kernel):
        self.kernel = kernel


def test_the_kernel_refuses_native_from_an_undeclared_row(capsys, tmp_path):
    """A handler of an emulated row answering NATIVE is a sentry bug: EIO, not a native run."""
    from runsc_py.platform import NATIVE
    from runsc_py.sentry import bugs
    from runsc_py.sentry.kernel import Kernel
    from runsc_py.syscalls.table import emulated

    def sneaky(ctx, fd):
        return NATIVE

    row = emulated(46, sneaky)

    class Call:
        args = (3, 0, 0, 0, 0, 0)

    kernel = types.SimpleNamespace()   # only what _invoke uses
    kernel.run_handler = lambda name, handler: Kernel.run_handler(kernel, name, handler)
    log = tmp_path / "log"
    bugs.use_log(str(log))
    try:
        assert Kernel._invoke(kernel, None, row, Call()) == -5
    finally:
        bugs.use_log(None)
    assert "sentry error in sneaky" in capsys.readouterr().err
    assert "declares no pointers" in log.read_text()
