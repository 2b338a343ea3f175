"""A workload's own seccomp filter returning SECCOMP_RET_TRACE with one of the
sentry's own data values (RP_TRACE_*) must not make the sentry let a call
through natively: the sentry is the only tracer, so such a stop looks like
one of its own. Each value is tried on `uname`, whose native answer (the
host's name) differs from the sandbox's."""
import textwrap

from tests.conftest import sandboxed

FORGED_TRACES = textwrap.dedent("""
    import ctypes, os, struct
    libc = ctypes.CDLL(None, use_errno=True)
    sandbox_name = os.uname().nodename
    keep = []
    def trace_uname(data):
        insns = [(0x20, 0, 0, 0), (0x15, 0, 1, 63),           # nr == uname?
                 (0x06, 0, 0, 0x7FF00000 | data), (0x06, 0, 0, 0x7FFF0000)]
        prog = ctypes.create_string_buffer(b"".join(struct.pack("<HBBI", *i) for i in insns))
        fprog = ctypes.create_string_buffer(struct.pack("<HxxxxxxQ", len(insns), ctypes.addressof(prog)))
        keep.append(prog)
        return libc.syscall(317, 1, 0, fprog)
    for data in (1, 2, 3, 4, 77):
        assert trace_uname(data) == 0, ctypes.get_errno()
        try:
            name = os.uname().nodename
        except OSError as e:
            name = e.strerror
        print(data, "sandbox's" if name == sandbox_name else "NOT the sandbox's: " + name)
""")


def test_forged_trace_data_never_runs_a_call_natively(platform):
    r = sandboxed(platform, "python3", "-c", FORGED_TRACES)
    assert r.code == 0, r
    assert r.out.decode().split("\n") == [f"{d} sandbox's" for d in (1, 2, 3, 4, 77)] + [""], r
