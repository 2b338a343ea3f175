"""A compromised sentry driving the gofer directly cannot reach outside the root.

The protocol says paths never hold "." or ".." and never start with "/";
a hostile sentry need not obey. Requests of every kind, with paths made of
"..", absolute paths and names of symlinks planted inside the root that
point out of it, must neither open nor change anything outside the root:
no fd the gofer hands back is a file beside the root, and the tree beside
the root stays exactly as it was.

Each request runs in a forked child chrooted into a private, detached
tmpfs (attached to no mount point) that holds both the served root and
the victim tree beside it. A gofer that let a request escape its root
reaches the victim, which the test sees; it can never reach this host's
files (a mutant gofer without RESOLVE_IN_ROOT, run in-process once,
made a symlink in the host's /).
"""
from __future__ import annotations

import hashlib
import os
import stat as statmod

from hypothesis import given, settings
from hypothesis import strategies as st

from runsc_py.gofer import protocol as p
from runsc_py.gofer.server import Gofer
from runsc_py.sentry.fs.store import detached_tmpfs

PARTS = ["..", "", "out", "abs", "etc", "passwd", "inside", "victim", "file", "/", ".", "rel-out"]
OPS = [p.LOOKUP, p.READDIR, p.CREATE, p.MKDIR, p.MKNOD, p.MKSYMLINK, p.LINK, p.UNLINK, p.RMDIR,
       p.RENAME, p.SETATTR, p.TMPFILE]
SECRET = b"secret\n"


def digest(top: str) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [""] + dirnames + filenames:
            path = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(path)
            entry = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns)
            if statmod.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    entry += (hashlib.sha256(f.read()).hexdigest(),)
            elif statmod.S_ISLNK(st.st_mode):
                entry += (os.readlink(path),)
            out[path] = entry
    return out


def build_arena() -> None:
    """In the lab's root: /root (served, writable) beside /victim (must never change)."""
    os.makedirs("/root/inside")
    with open("/root/inside/file", "w") as f:
        f.write("mine\n")
    os.makedirs("/victim/etc")
    with open("/victim/etc/passwd", "wb") as f:
        f.write(SECRET)
    os.symlink("/", "/root/out")
    os.symlink("/victim/etc", "/root/abs")
    os.symlink("../victim", "/root/rel-out")


def attack(op: int, path: str, second: str, flags: int) -> str:
    """Run one request in the lab; '' if nothing escaped, else what did."""
    build_arena()
    before = digest("/victim")
    secret_ino = os.stat("/victim/etc/passwd").st_ino
    root_fd = os.open("/root", os.O_PATH | os.O_DIRECTORY)
    gofer = Gofer(root_fd, readonly=False)
    head = b""
    if op in (p.CREATE, p.TMPFILE, p.MKDIR, p.MKNOD, p.MKSYMLINK):
        head = p.OWNER.pack(0, 0)
    elif op == p.SETATTR:
        head = p.ATTRS.pack(p.ATTR_MODE | p.ATTR_SIZE, 0o777, 0, 0, 0, 0, 0)
    arg = statmod.S_IFIFO | 0o600 if op == p.MKNOD else 0o600
    request = p.pack_request(op, path, flags if op != p.CREATE else os.O_RDWR, arg, head=head,
                             second=second if op in (p.LINK, p.RENAME, p.MKSYMLINK) else None)
    fds: list[int] = []
    try:
        gofer.handle(request, fds)
    except OSError:
        pass
    leaks = [fd for fd in fds if os.fstat(fd).st_ino == secret_ino]
    if leaks:
        return f"an fd of the victim's file came back ({len(leaks)})"
    if digest("/victim") != before:
        return "the tree beside the root changed"
    return ""


def in_lab(op: int, path: str, second: str, flags: int) -> str:
    """attack() in a child whose root is a private detached tmpfs."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            lab = detached_tmpfs(16 << 20)
            os.fchdir(lab)
            os.chroot(".")
            message = attack(op, path, second, flags)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, never raised there
            message = f"lab failed: {exc!r}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        message = f.read().decode()
    os.waitpid(pid, 0)
    return message


paths = st.lists(st.sampled_from(PARTS), min_size=0, max_size=5).map("/".join)


@settings(max_examples=400, deadline=None)
@given(op=st.sampled_from(OPS), path=paths, second=paths, flags=st.sampled_from(
    [-1, os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_RDONLY | os.O_DIRECTORY]))
def test_hostile_requests_stay_beneath_the_root(op, path, second, flags):
    assert in_lab(op, path, second, flags) == "", (op, path, second, flags)
