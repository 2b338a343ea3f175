"""/proc/<pid>/ns: one link per namespace kind, `KIND:[INODE]`.

Tools tell namespaces apart by these (`readlink`, or the inode `stat`
gives: `lsns`, `ip netns identify`, test suites checking isolation). The
sandbox's processes share its pid, mount, IPC, network, cgroup, time and
user namespaces, which have one number each here; a UTS namespace is per
process since unshare(CLONE_NEWUTS) (sentry/tasks.py, Uts.inum). The
numbers are the sandbox's own, never the host's (tests/security/
test_proc_escape.py). Following a link gives an nsfs-like file with that inode; it
cannot be opened: no namespace of the sandbox can be entered (setns).
"""
from __future__ import annotations

import errno
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.synthetic import Dir, Entry, Link
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.tasks import NSFS_FIRST
from runsc_py.sentry.vfs import Filesystem, Lookup, Mount, Resolved

NSFS_DEV = 4   # st_dev 0:4, as nsfs's on Linux
# the sandbox-wide namespaces' numbers (each process's UTS namespace has its own)
SHARED = {"cgroup": NSFS_FIRST + 1, "ipc": NSFS_FIRST + 2,
          "net": NSFS_FIRST + 4, "pid": NSFS_FIRST + 5, "pid_for_children": NSFS_FIRST + 5,
          "time": NSFS_FIRST + 6, "time_for_children": NSFS_FIRST + 6, "user": NSFS_FIRST + 7}
KINDS = ("cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
         "time_for_children", "user", "uts")


def ns_dir(kernel, process, inspected, owner: tuple[int, int]) -> Dir:
    """The `ns` directory of `process`; `inspected(render, *args)` applies
    the ptrace access check (Linux's PTRACE_MODE_READ for these links)."""
    def children() -> dict[str, Entry]:
        return {kind: _link(kernel, process, kind, inspected, owner) for kind in KINDS}

    return Dir(children, 0o511, owner)


def inode_of(kernel, process, kind: str) -> int:
    if kind == "uts":
        return (process.uts or kernel.uts).inum   # (None: the sandbox's own)
    if kind == "mnt":
        return (process.mntns or kernel.vfs.initial).inum
    return SHARED[kind]


def _link(kernel, process, kind: str, inspected, owner: tuple[int, int]) -> Link:
    name = kind.removesuffix("_for_children")

    def target() -> str:
        return f"{name}:[{inode_of(kernel, process, kind)}]"

    def jump(open_flags: int) -> Resolved:
        ino = inspected(inode_of, kernel, process, kind)
        st = Stat(statmod.S_IFREG | 0o444, ino, NSFS_DEV, 1, 0, 0, 0, 0, 4096, 0, 0, 0, 0)
        mount = Mount("", _Namespace(st), readonly=True, dev=NSFS_DEV, mount_id=0)
        if open_flags >= 0:
            raise SyscallError(errno.EPERM, "a namespace of the sandbox cannot be entered")
        return Resolved(target(), mount, "", st)

    return Link(lambda: inspected(target), jump, 0o777, owner, size=0)


class _Namespace(Filesystem):
    """The pseudo-filesystem of one namespace file (never in the mount table)."""

    readonly = True
    fstype = "nsfs"

    def __init__(self, stat: Stat):
        self.stat = stat

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        if open_flags >= 0:
            raise SyscallError(errno.EPERM)
        return Lookup("found", stat=self.stat)

    def readdir(self, path: str):
        raise SyscallError(errno.ENOTDIR)
