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
