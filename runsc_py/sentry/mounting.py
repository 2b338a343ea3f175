"""What mount(2) and umount2(2) change in the caller's mount namespace.

All of it happens in the sentry's VFS: a new mount is one of the sentry's
own filesystems (mounts.py NewFilesystems: tmpfs, proc, sysfs and the
empty ones), a bind is another view of files the caller can already see,
a remount changes the flags of one mount of the caller's namespace.
Nothing reaches the host's mount table and no host path is named, so a
sandboxed root gains nothing it could not already reach. The order of
the checks and the errnos are Linux's (fs/namespace.c: path_mount,
do_loopback, do_reconfigure_mnt, do_change_type, do_move_mount,
do_umount).
"""
from __future__ import annotations

import errno
import stat as statmod
from collections.abc import Callable

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.mounts import Subtree
from runsc_py.sentry.mountns import beneath
from runsc_py.sentry.mountspec import MountError

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME = 32, 256, 1024, 2048
MS_BIND, MS_MOVE, MS_REC, MS_SILENT = 4096, 8192, 16384, 32768
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME, MS_NOUSER = 1 << 21, 1 << 24, 1 << 31
MS_MGC_VAL, MS_MGC_MSK = 0xC0ED0000, 0xFFFF0000
PROPAGATION_FLAGS = {MS_SHARED: "shared", MS_PRIVATE: None, MS_SLAVE: "slave",
                     MS_UNBINDABLE: "unbindable"}
PROPAGATION_MASK = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE
# per-mount flags, as /proc/<pid>/mountinfo names them
MOUNT_OPTIONS = {MS_NOSUID: "nosuid", MS_NODEV: "nodev", MS_NOEXEC: "noexec",
                 MS_NOSYMFOLLOW: "nosymfollow", MS_NOATIME: "noatime",
                 MS_NODIRATIME: "nodiratime", MS_RELATIME: "relatime",
                 MS_STRICTATIME: "strictatime"}
ATIME_FLAGS = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME
ATIME_OPTIONS = frozenset(MOUNT_OPTIONS[f] for f in (MS_NOATIME, MS_NODIRATIME, MS_RELATIME,
                                                     MS_STRICTATIME))
MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW = 1, 2, 4, 8
UMOUNT_FLAGS = MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW


def mount(vfs, target, flags: int, fstype: str | None, source: str | None,
          data: str | None, source_resolved: Callable[[], object]) -> None:
    """path_mount(), after the caller's CAP_SYS_ADMIN was checked: `target`
    is the resolved mount point, `source_resolved()` resolves the source
    path (for a bind or a move)."""
    if flags & MS_REMOUNT:
        _remount(vfs, target, flags)
    elif flags & MS_BIND:
        _bind(vfs, source_resolved(), target, bool(flags & MS_REC))
    elif flags & PROPAGATION_MASK:
        _change_type(vfs, target, flags)
    elif flags & MS_MOVE:
        _move(vfs, source_resolved(), target)
    else:
        _new_mount(vfs, target, flags, fstype, source, data)


def umount(vfs, target, flags: int, busy: Callable[[object], bool]) -> None:
    """do_umount() of the mount whose root `target` is; `busy(mount)`:
    whether an open file, a working directory or a root is on it."""
    ns = vfs.ns
    mount = _mount_root(vfs, target)
    if flags & MNT_EXPIRE:
        if flags & (MNT_FORCE | MNT_DETACH):
            raise SyscallError(errno.EINVAL)
        if mount.mount_id not in ns.expiring:   # the first call only marks it
            ns.expiring.add(mount.mount_id)
            raise SyscallError(errno.EAGAIN)
    if mount.mountpoint == "/":
        raise SyscallError(errno.EBUSY, "the namespace's root stays")
    if not flags & MNT_DETACH and (ns.beneath(mount.mountpoint) or busy(mount)):
        raise SyscallError(errno.EBUSY)
    ns.remove(mount)


def mount_options(flags: int) -> frozenset[str]:
    return frozenset(name for flag, name in MOUNT_OPTIONS.items() if flags & flag)


def _mount_root(vfs, res):
    """The caller's mount whose root `res` is; EINVAL if it is not one."""
    if res.rel or vfs.ns.mounts.get(res.path) is not res.mount:
        raise SyscallError(errno.EINVAL, f"{res.path} is not a mount point")
    return res.mount


def _remount(vfs, target, flags: int) -> None:
    """MS_REMOUNT (with MS_BIND or not): the mount's own flags change. A
    filesystem that cannot be written stays read-only (EACCES, as Linux for
    a write-protected device)."""
    mount = _mount_root(vfs, target)
    readonly = bool(flags & MS_RDONLY)
    if not readonly and mount.readonly and mount.fs.readonly:
        raise SyscallError(errno.EACCES, "this filesystem cannot be written")
    options = mount_options(flags)
    if not flags & ATIME_FLAGS:   # the access-time rule stays unless one is given
        options |= mount.options & ATIME_OPTIONS
    mount.readonly = readonly
    mount.options = options


def _bind(vfs, source, target, recursive: bool) -> None:
    """MS_BIND: `source`'s files at `target` too; with MS_REC the mounts
    beneath it come along, at their places beneath `target`."""
    if statmod.S_ISDIR(source.stat.mode) != statmod.S_ISDIR(target.stat.mode):
        raise SyscallError(errno.ENOTDIR)
    top = source.mount
    if top.propagation == "unbindable":
        raise SyscallError(errno.EINVAL)
    below = vfs.ns.beneath(source.path) if recursive else []
    fs = Subtree(top.fs, source.rel) if source.rel else top.fs
    root = top.root.rstrip("/") + "/" + source.rel if source.rel else top.root
    vfs.mount(target.path, fs, top.readonly, source=top.source, options=top.options,
              dev=top.dev, root=root)
    for m in below:
        if m.propagation != "unbindable":
            vfs.mount_copy(m, _moved(m.mountpoint, source.path, target.path))


def _change_type(vfs, target, flags: int) -> None:
    """MS_SHARED, MS_PRIVATE, MS_SLAVE, MS_UNBINDABLE (one of them), with
    MS_REC for every mount beneath too. Shown in mountinfo; nothing
    propagates between the sandbox's mounts."""
    mount = _mount_root(vfs, target)
    kind = flags & ~(MS_REC | MS_SILENT)
    if kind not in PROPAGATION_FLAGS:
        raise SyscallError(errno.EINVAL)
    for m in [mount, *(vfs.ns.beneath(mount.mountpoint) if flags & MS_REC else ())]:
        m.propagation = PROPAGATION_FLAGS[kind]


def _move(vfs, source, target) -> None:
    """MS_MOVE: the mount whose root `source` is, with what is beneath it, to `target`."""
    mount = _mount_root(vfs, source)
    old, new = mount.mountpoint, target.path
    if old == "/":
        raise SyscallError(errno.EINVAL)
    if statmod.S_ISDIR(source.stat.mode) != statmod.S_ISDIR(target.stat.mode):
        raise SyscallError(errno.ENOTDIR)
    if new == old or beneath(new, old):
        raise SyscallError(errno.ELOOP)   # beneath itself
    ns = vfs.ns
    below = ns.beneath(old)
    ns.remove(mount)
    for m in [mount, *below]:
        m.mountpoint = _moved(m.mountpoint, old, new)
        ns.add(m)
    moved = {id(m) for m in (mount, *below)}
    for file in vfs.open_files():   # their names follow, as a dentry's path does
        if file.mount is not None and id(file.mount) in moved:
            prefix = file.mount.mountpoint
            file.path = prefix.rstrip("/") + "/" + file.rel if file.rel else prefix


def _new_mount(vfs, target, flags: int, fstype: str | None, source: str | None,
               data: str | None) -> None:
    """A new filesystem of `fstype` at `target`: one the sentry makes, else ENODEV."""
    if not fstype:
        raise SyscallError(errno.EINVAL)
    makers = vfs.new_filesystems
    if makers is None or fstype not in makers.TYPES:
        raise SyscallError(errno.ENODEV, f"no {fstype!r} filesystem in the sandbox")
    if not statmod.S_ISDIR(target.stat.mode):
        raise SyscallError(errno.ENOTDIR)
    try:
        fs = makers.make(fstype, (data or "").split(","))
    except MountError as exc:
        raise SyscallError(errno.EINVAL, str(exc)) from None
    vfs.mount(target.path, fs, readonly=bool(flags & MS_RDONLY), source=source or "none",
              options=mount_options(flags))


def _moved(path: str, old: str, new: str) -> str:
    """`path`, at or beneath `old`, as it is beneath `new`."""
    rest = path[len(old):] if old != "/" else path
    if not rest or rest == "/":
        return new
    return new.rstrip("/") + "/" + rest.lstrip("/")
