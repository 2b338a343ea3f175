"""Credentials' rules (sentry/credentials.py), checked as properties."""
import errno
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runsc_py.sentry.credentials import ALL_CAPS, CAP_DAC_OVERRIDE, NO_ID, Credentials
from runsc_py.sentry.errors import SyscallError

ids = st.sampled_from([0, 1, 1000, 2000, NO_ID])
caps = st.integers(min_value=0, max_value=ALL_CAPS)
calls = st.sampled_from(["setuid", "setreuid", "setresuid"])


def _call(creds, name, a, b, c):
    args = {"setuid": (a,), "setreuid": (a, b), "setresuid": (a, b, c)}[name]
    getattr(creds, name)(*args)


@given(calls, ids, ids, ids, st.sampled_from([1000, 2000]))
def test_unprivileged_never_gains_an_id(name, a, b, c, start):
    creds = Credentials.for_user(start, start)
    creds.suid = 1
    before = {creds.uid, creds.euid, creds.suid}
    try:
        _call(creds, name, a, b, c)
    except SyscallError as e:
        assert e.errno in (errno.EPERM, errno.EINVAL)
    assert {creds.uid, creds.euid, creds.suid} <= before
    assert creds.fsuid == creds.euid and creds.cap_effective == 0


@given(calls, ids, ids, ids)
def test_fsuid_follows_euid(name, a, b, c):
    creds = Credentials.for_user(0, 0)
    try:
        _call(creds, name, a, b, c)
    except SyscallError:
        pass
    assert creds.fsuid == creds.euid
    assert (creds.cap_effective != 0) == (creds.euid == 0)
    if 0 not in (creds.uid, creds.euid, creds.suid):
        assert creds.cap_permitted == 0


@given(caps, caps, caps, caps)
def test_capset_never_grows(start, eff, perm, inh):
    creds = Credentials.for_user(1000, 1000)
    creds.cap_permitted = creds.cap_effective = start
    try:
        creds.capset(eff, perm, inh)
    except SyscallError:
        assert creds.cap_permitted == start
        return
    assert perm & ~start == 0 and eff & ~perm == 0


def test_access_by_fs_ids_and_capabilities():
    st_ = types.SimpleNamespace(mode=0o100600, uid=5, gid=5)
    root = Credentials.for_user(0, 0)
    assert root.may_access(st_, 4 | 2) and not root.may_execute(st_)
    root.cap_effective &= ~(1 << CAP_DAC_OVERRIDE)
    assert not root.may_access(st_, 2)
    user = Credentials.for_user(5, 5)
    assert user.may_access(st_, 6)
    user.setfsuid(5)
    other = Credentials.for_user(6, 6)
    assert not other.may_access(st_, 4)


def test_setgroups_needs_cap_setgid():
    creds = Credentials.for_user(1000, 1000)
    with pytest.raises(SyscallError):
        creds.setgroups((1, 2))


# -- file capabilities: what exec reads from security.capability -------------------

def _caps(magic: int, *words: int) -> bytes:
    import struct
    return struct.pack(f"<{1 + len(words)}I", magic, *words)


def test_file_caps_revisions():
    from runsc_py.sentry.credentials import FileCaps, parse_file_caps
    assert parse_file_caps(None) is None
    # revision 1: one 32-bit word each (files from before Linux 2.6.25 made it two)
    assert parse_file_caps(_caps(0x01000001, 1 << 13, 1 << 5)) == FileCaps(1 << 13, 1 << 5, True)
    assert parse_file_caps(_caps(0x02000000, 1, 2, 1 << 8, 0)) == FileCaps(1 | 1 << 40, 2, False)
    assert parse_file_caps(_caps(0x02000000, 0, 0, 0xFFFFFFFF, 0)).permitted == ALL_CAPS & ~0xFFFFFFFF
    # revision 3: for the namespace whose root is `rootid`; the sandbox's own root is 0
    assert parse_file_caps(_caps(0x03000001, 1 << 13, 0, 0, 0, 0)) == FileCaps(1 << 13, 0, True)
    assert parse_file_caps(_caps(0x03000001, 1 << 13, 0, 0, 0, 1000)) is None


@pytest.mark.parametrize("raw", [b"", b"\0\0\x02", _caps(0x02000000, 1, 2, 3),
                                 _caps(0x03000000, 1, 2, 3, 4), _caps(0x04000000, 1, 2, 3, 4),
                                 _caps(0x01000000, 1, 2, 3, 4)])
def test_malformed_file_caps_fail_the_exec(raw):
    from runsc_py.sentry.credentials import parse_file_caps
    with pytest.raises(SyscallError) as exc:
        parse_file_caps(raw)
    assert exc.value.errno == errno.EINVAL


def test_file_caps_reading_back_as_revision_2():
    from runsc_py.sentry.credentials import as_read_caps
    v3_root0 = _caps(0x03000001, 5, 6, 7, 8, 0)
    assert as_read_caps(v3_root0) == _caps(0x02000001, 5, 6, 7, 8)
    assert as_read_caps(_caps(0x03000000, 5, 6, 7, 8, 1000)) == _caps(0x03000000, 5, 6, 7, 8, 1000)


@given(caps, caps, caps, caps, st.booleans())
def test_file_caps_never_exceed_the_bounding_set_or_gain_under_no_new_privs(bset, inh, fp, fi, nnp):
    from runsc_py.sentry.credentials import FileCaps
    creds = Credentials.for_user(1000, 1000)
    creds.cap_bounding, creds.cap_inheritable, creds.no_new_privs = bset, inh, nnp
    try:
        creds.on_exec(file_caps=FileCaps(fp, fi, False))
    except SyscallError:
        pytest.fail("fE clear: never EPERM")
    assert creds.cap_permitted == (0 if nnp else (bset & fp) | (inh & fi))
    assert creds.cap_effective == 0 and creds.cap_ambient == 0
