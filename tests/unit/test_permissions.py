"""The sentry's permission checks against the host kernel's, for an unprivileged caller.

A small tree gets random modes, owners and sticky bits, twice: natively (in
a scratch directory) and in a sentry tmpfs. Then one operation is tried by
uid 1000: natively in a forked child that has really become uid 1000, and
through the sentry's VFS with credentials for uid 1000. The errno must be
the same: search permission on the way, read/write/execute bits, the
sticky bit, chmod/chown/utime ownership rules.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat as statmod
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runsc_py.sentry import attrs, files, namei
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.tmpfs import TmpFilesystem
from runsc_py.sentry.tasks import Credentials
from runsc_py.sentry.vfs import VFS

USER = 1000
NAMES = ["d", "d/f", "d/e", "d/e/g", "s", "s/mine", "s/theirs"]
MODES = [0o700, 0o755, 0o711, 0o777, 0o1777, 0o644, 0o600, 0o666, 0o000, 0o444, 0o222]


def user_creds() -> Credentials:
    return Credentials(uid=USER, euid=USER, suid=USER, gid=USER, egid=USER, sgid=USER,
                       fsuid=USER, fsgid=USER)


def build_native(root: str, layout: dict[str, tuple[int, int]]) -> None:
    for name in NAMES:
        path = os.path.join(root, name)
        if name in ("d/f", "d/e/g", "s/mine", "s/theirs"):
            open(path, "w").close()
        else:
            os.mkdir(path)
    for name in reversed(NAMES):  # children first: a 000 parent must not stop us (we are root)
        mode, owner = layout[name]
        os.chown(os.path.join(root, name), owner, owner)
        os.chmod(os.path.join(root, name), mode)


def build_sentry(layout: dict[str, tuple[int, int]]) -> VFS:
    fs = TmpFilesystem(mode=0o755, dir_fd_source=lambda: os.open("/", os.O_RDONLY))
    for name in NAMES:
        mode, owner = layout[name]
        if name in ("d/f", "d/e/g", "s/mine", "s/theirs"):
            os.close(fs.create(name, mode, owner, owner, os.O_RDONLY).fd)
        else:
            fs.mkdir(name, mode, owner, owner)
    vfs = VFS()
    vfs.mount("/", fs)
    return vfs


OPERATIONS = {
    "open read": (lambda p: os.close(os.open(p("d/f"), os.O_RDONLY)),
                  lambda v, c: _open(v, c, "/d/f", os.O_RDONLY)),
    "open write": (lambda p: os.close(os.open(p("d/e/g"), os.O_WRONLY)),
                   lambda v, c: _open(v, c, "/d/e/g", os.O_WRONLY)),
    "create": (lambda p: os.close(os.open(p("d/e/new"), os.O_CREAT | os.O_WRONLY, 0o644)),
               lambda v, c: _open(v, c, "/d/e/new", os.O_CREAT | os.O_WRONLY, 0o644)),
    "stat deep": (lambda p: os.stat(p("d/e/g")),
                  lambda v, c: v.resolve("/", "/d/e/g")),
    "mkdir": (lambda p: os.mkdir(p("d/newdir")),
              lambda v, c: namei.mkdir(v, c, "/", "/d/newdir", 0o755)),
    "unlink theirs in sticky": (lambda p: os.unlink(p("s/theirs")),
                                lambda v, c: namei.unlink(v, c, "/", "/s/theirs")),
    "unlink mine in sticky": (lambda p: os.unlink(p("s/mine")),
                              lambda v, c: namei.unlink(v, c, "/", "/s/mine")),
    "rename into d": (lambda p: os.rename(p("s/mine"), p("d/moved")),
                      lambda v, c: namei.rename(v, c, "/", "/s/mine", "/", "/d/moved", 0)),
    "rmdir": (lambda p: os.rmdir(p("d/e")),
              lambda v, c: namei.rmdir(v, c, "/", "/d/e")),
    "chmod": (lambda p: os.chmod(p("d/f"), 0o600),
              lambda v, c: attrs.chmod(c, attrs.by_path(v, "/", "/d/f", True), 0o600)),
    "chown to self": (lambda p: os.chown(p("s/mine"), USER, USER),
                      lambda v, c: attrs.chown(c, attrs.by_path(v, "/", "/s/mine", True), USER, USER)),
    "utime now": (lambda p: os.utime(p("d/f")),
                  lambda v, c: attrs.utimes(c, attrs.by_path(v, "/", "/d/f", True), None)),
    "utime explicit": (lambda p: os.utime(p("d/f"), (1, 2)),
                       lambda v, c: attrs.utimes(c, attrs.by_path(v, "/", "/d/f", True), ((1, 0), (2, 0)))),
    "truncate": (lambda p: os.truncate(p("d/f"), 0),
                 lambda v, c: attrs.truncate(c, attrs.by_path(v, "/", "/d/f", True), 0)),
}


def _open(vfs, creds, path, flags, mode=0):
    _file, fd = files.open_path(vfs, creds, 0o022, "/", path, flags, mode)
    os.close(fd)


def native_errno(root: str, operation) -> int:
    """Run the operation as uid 1000 in a child; its exit code is the errno (0: success)."""
    pid = os.fork()
    if pid == 0:
        code = 255
        try:
            os.setgroups([])
            os.setresgid(USER, USER, USER)
            os.setresuid(USER, USER, USER)
            operation(lambda name: os.path.join(root, name))
            code = 0
        except OSError as exc:
            code = exc.errno
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def sentry_errno(vfs: VFS, operation) -> int:
    creds = user_creds()
    vfs.caller_creds = lambda: creds
    try:
        operation(vfs, creds)
        return 0
    except SyscallError as exc:
        return exc.errno


layouts = st.fixed_dictionaries({
    name: st.tuples(st.sampled_from(MODES), st.sampled_from([0, USER])) for name in NAMES})


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming uid 1000 natively needs root")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=layouts, name=st.sampled_from(sorted(OPERATIONS)))
def test_permissions_match_the_kernel(layout, name):
    # not under pytest's tmp directory: that is 0700, and uid 1000 must reach the tree
    root = tempfile.mkdtemp(prefix="runsc-py-perm-", dir="/tmp")
    os.chmod(root, 0o755)
    layout = dict(layout)
    layout["s"] = (layout["s"][0] | statmod.S_ISVTX, layout["s"][1])
    layout["s/mine"] = (layout["s/mine"][0], USER)
    layout["s/theirs"] = (layout["s/theirs"][0], 0)
    build_native(root, layout)
    native_op, sentry_op = OPERATIONS[name]
    want = native_errno(root, native_op)
    got = sentry_errno(build_sentry(layout), sentry_op)
    shutil.rmtree(root)
    assert errno.errorcode.get(got, got) == errno.errorcode.get(want, want), (name, layout)
