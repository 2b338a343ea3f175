"""The sandbox's mount table, built from a configuration.

In order: the root (the gofer's tree under an in-memory overlay, or the
tree itself with --overlay=none), the sentry's own /dev (with a tmpfs at
/dev/shm), /proc and /sys, then each configured mount in the order given
(OCI `mounts`: later ones over earlier ones), then the masked and
read-only paths. What a mount kind becomes:

    bind            a gofer root: the one way a host file is reached below
                    the root, and with "rw" the one way a write reaches the host
    tmpfs           a sentry tmpfs (size=, mode=, uid=, gid=); at /dev the
                    sentry's devfs, mounted again there (as in gVisor)
    proc, sysfs     the sentry's procfs and sysfs
    devpts          the devfs's pts/ as a mount of its own, with a ptmx
                    (ptmxmode=), and /dev/ptmx the link `pts/ptmx`, as runc
    mqueue, cgroup, cgroup2
                    an empty read-only directory of that type (POSIX
                    message queues work, but are not listed: sentry/mqueue.py)

A configured mount at a path the sandbox's own mounts already hold
(/dev, /dev/shm, /proc, /sys) takes its place, at its position in the
configuration: /proc/self/mountinfo lists the configuration's mounts in
its order, each with its type and source (runtime-tools checks both).

Bind sources are known before the gofer starts: `gofer_roots()` lists
them, and the gofer's mount index of each is its place in that list.
"""
from __future__ import annotations

import errno
import os
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.gofer import GoferFilesystem
from runsc_py.sentry.fs.overlay import OverlayFilesystem
from runsc_py.sentry.fs.dev import DevFilesystem
from runsc_py.sentry.fs.proc import ProcFilesystem
from runsc_py.sentry.fs.synthetic import EmptyDirectory
from runsc_py.sentry.fs.sys import SysFilesystem
from runsc_py.sentry.fs.tmpfs import TmpFilesystem
from runsc_py.sentry.limits import parse_size
from runsc_py.sentry.mountspec import PROPAGATION, MountError, MountSpec
from runsc_py.sentry.vfs import VFS, Filesystem, Lookup, StatFs

# what Linux's tmpfs takes in mount(2)'s data (mm/shmem.c, shmem_fs_parameters)
TMPFS_OPTIONS = frozenset({"size", "nr_blocks", "nr_inodes", "mode", "uid", "gid", "huge",
                           "mpol", "inode32", "inode64", "noswap", "quota", "usrquota",
                           "grpquota"})


def build_vfs(gofer, kernel, overlay: str = "memory", mounts: list[MountSpec] = (),
              masked: list[str] = (), readonly_paths: list[str] = (), root_readonly: bool = True,
              host_root: str = "/", root_propagation: str = "", devices=()) -> VFS:
    """Mount everything the sandbox sees, on kernel.vfs. host_root: the host
    path of the root the gofer serves (procfs names host files by it);
    root_propagation: linux.rootfsPropagation; devices: linux.devices
    (oci.spec.SpecDevice), nodes of the devfs."""
    vfs = kernel.vfs
    host_paths = [(host_root, "/")] + [(m.source, os.path.normpath(m.destination))
                                       for m in mounts if m.is_bind]

    def procfs() -> ProcFilesystem:
        return ProcFilesystem(kernel, fresh_dir_fd, host_paths=host_paths)

    def fresh_dir_fd() -> int:
        return gofer.lookup("", os.O_RDONLY | os.O_DIRECTORY)[3]

    root = GoferFilesystem(gofer, readonly=root_readonly, ids=kernel.id_mappings)
    if overlay == "memory":
        vfs.mount("/", OverlayFilesystem(root, TmpFilesystem(dir_fd_source=fresh_dir_fd)))
    else:
        vfs.mount("/", root, readonly=root_readonly)
    devfs = DevFilesystem(kernel, fresh_dir_fd)
    kernel.ptys = devfs.ptys   # the sandbox's ptys: a console given to it joins them
    devfs.add_devices(devices)
    vfs.mount("/dev", devfs, source="tmpfs",
              options=frozenset({"nosuid"}))
    shm = TmpFilesystem(dir_fd_source=fresh_dir_fd)
    vfs.mount("/dev/shm", shm, options=frozenset({"nosuid", "nodev"}))
    vfs.new_filesystems = made = NewFilesystems(kernel, fresh_dir_fd, procfs, devfs, shm.store)
    vfs.mount("/proc", procfs(), readonly=False, source="proc",
              options=frozenset({"nosuid", "nodev", "noexec"}))
    vfs.mount("/sys", SysFilesystem(kernel, fresh_dir_fd), readonly=True, source="sysfs",
              options=frozenset({"nosuid", "nodev", "noexec"}))
    bind_index = 0
    for spec in mounts:
        spec.check()
        if spec.is_bind:
            bind_index += 1
        fs = _filesystem(spec, kernel, gofer, bind_index, made)
        if fs is None:
            continue
        destination = os.path.normpath(spec.destination)
        _make_mountpoint(vfs, destination, spec)
        # the sentry's /dev, its pts/ and an mqueue refuse what they cannot make
        # (ENOENT, EPERM) but are rw mounts, as Linux's are; a read-only
        # filesystem (a bind of a read-only source, sysfs) shows as one
        shown_readonly = fs.readonly and spec.kind not in ("tmpfs", "devpts", "mqueue")
        vfs.mount(destination, fs, readonly=spec.readonly or shown_readonly,
                  source=spec.source or spec.type, options=spec.flags)
    for path in masked:
        _mask(vfs, path, fresh_dir_fd)
    for path in readonly_paths:
        _make_readonly(vfs, path)
    _show_propagation(vfs, root_propagation, mounts)
    return vfs


class NewFilesystems:
    """The sentry's own filesystems by type, never a host one: what the
    configuration's mounts become (`at_boot`), and what mount(2) inside the
    sandbox can make (sentry/mounting.py)."""

    TYPES = frozenset({"tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"})

    def __init__(self, kernel, fresh_dir_fd, procfs, devfs: DevFilesystem, store_host):
        self._kernel = kernel
        self._store_host = store_host   # a tmpfs's host storage, made before confinement
        self._fresh_dir_fd = fresh_dir_fd
        self._procfs = procfs
        self.devfs = devfs

    def make(self, fstype: str, options: list[str], at_boot: bool = False) -> Filesystem:
        """A new filesystem of `fstype`; MountError for an option it does not
        take. A tmpfs made at boot has host storage of its own (its size= a
        host limit), and its options hold the generic ones too ("nosuid")."""
        if fstype == "tmpfs":
            return _tmpfs(options, self._fresh_dir_fd, strict=not at_boot,
                          store_host=None if at_boot else self._store_host)
        if fstype == "proc":
            return self._procfs()
        if fstype == "sysfs":
            return SysFilesystem(self._kernel, self._fresh_dir_fd)
        if fstype == "devpts":
            return Subtree(self.devfs, "pts", fstype="devpts")
        return EmptyDirectory(self._fresh_dir_fd, fstype)   # mqueue, cgroup, cgroup2


def _show_propagation(vfs: VFS, root_propagation: str, mounts: list[MountSpec]) -> None:
    """What mountinfo shows of propagation, as runc sets it up: the root's
    from linux.rootfsPropagation; a mount made beneath a shared root is
    shared (Linux makes a new mount under a shared parent a peer), unless
    its own options say otherwise."""
    root = vfs.mounts["/"]
    root.propagation = PROPAGATION.get(root_propagation)
    own = {os.path.normpath(m.destination): m.propagation for m in mounts}
    for mount in vfs.mounts.values():
        if mount is not root:
            given = own.get(mount.mountpoint, "unset")
            mount.propagation = (root.propagation == "shared" and "shared" or None) \
                if given == "unset" else given


def _filesystem(spec: MountSpec, kernel, gofer, bind_index: int,
                made: NewFilesystems) -> Filesystem | None:
    """The filesystem a mount entry becomes (None: nothing to mount)."""
    kind, destination = spec.kind, os.path.normpath(spec.destination)
    if kind == "bind":
        return GoferFilesystem(gofer, readonly=spec.readonly, mount=bind_index,
                               ids=kernel.id_mappings)
    if kind == "tmpfs" and destination == "/dev":
        return made.devfs  # /dev is always the sentry's devfs
    if kind == "devpts":
        if destination != "/dev/pts":
            return None  # the devfs's ptys are the sandbox's only ones
        values = dict(o.split("=", 1) for o in spec.options if "=" in o)
        made.devfs.devpts_mounted(int(values.get("ptmxmode", "0"), 8) & 0o7777)
    try:
        return made.make(kind, spec.options, at_boot=True)  # mqueue, cgroup: empty for now
    except MountError as exc:
        raise MountError(f"mount {spec.destination}: {exc}") from None


def _tmpfs(options: list[str], fresh_dir_fd, strict: bool = False,
           store_host=None) -> TmpFilesystem:
    """A tmpfs with size=, mode=, uid=, gid= from `options`; `strict`: an
    option Linux's tmpfs does not know is an error (mount(2)'s EINVAL), else
    ignored (a spec's options also hold the generic ones: "nosuid", "ro")."""
    values = dict(o.split("=", 1) if "=" in o else (o, "") for o in options if o)
    unknown = set(values) - TMPFS_OPTIONS
    if strict and unknown:
        raise MountError(f"tmpfs: unknown option {sorted(unknown)[0]!r}")
    try:
        size = parse_size(values["size"]) if "size" in values else None
        mode = int(values.get("mode", "1777"), 8)
        uid, gid = int(values.get("uid", 0)), int(values.get("gid", 0))
    except ValueError as exc:
        raise MountError(f"tmpfs: bad option ({exc})") from None
    return TmpFilesystem(size, mode, uid, gid, dir_fd_source=fresh_dir_fd, store_host=store_host)


def _make_mountpoint(vfs: VFS, destination: str, spec: MountSpec) -> None:
    """Create a missing mount point in a writable root, as runc does (best effort)."""
    try:
        vfs.resolve("/", destination)
        return
    except SyscallError:
        pass
    names = [n for n in destination.split("/") if n]
    for depth in range(1, len(names) + 1):
        path = "/" + "/".join(names[:depth])
        try:
            vfs.resolve("/", path)
            continue
        except SyscallError as exc:
            if exc.errno != errno.ENOENT:
                return
        entry = vfs.parent_of("/", path)
        if entry.mount.readonly:
            return
        try:
            last = depth == len(names)
            if last and spec.is_bind and not os.path.isdir(spec.source):
                entry.mount.fs.mknod(entry.rel, statmod.S_IFREG | 0o644, 0, 0, 0)
            else:
                entry.mount.fs.mkdir(entry.rel, 0o755, 0, 0)
        except (SyscallError, OSError):
            return


def _mask(vfs: VFS, path: str, fresh_dir_fd) -> None:
    """linux.maskedPaths: an existing file reads empty, a directory lists nothing."""
    try:
        found = vfs.resolve("/", path)
    except SyscallError:
        return  # nothing there to hide
    if statmod.S_ISDIR(found.stat.mode):
        vfs.mount(found.path, EmptyDirectory(fresh_dir_fd), readonly=True)
    else:
        vfs.mount(found.path, EmptyFile(), readonly=True)


def _make_readonly(vfs: VFS, path: str) -> None:
    """linux.readonlyPaths: the same files, through a read-only mount."""
    try:
        found = vfs.resolve("/", path)
    except SyscallError:
        return
    if found.mount.readonly:
        return
    vfs.mount(found.path, Subtree(found.mount.fs, found.rel), readonly=True)


class EmptyFile(Filesystem):
    """A masked file: an empty, read-only regular file (as runc binds /dev/null over it)."""

    fstype = "tmpfs"

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        if path:
            raise SyscallError(errno.ENOTDIR)
        from runsc_py.sentry.stat import Stat

        st = Stat(statmod.S_IFREG | 0o444, 1, 0, 1, 0, 0, 0, 0, 4096, 0, 0, 0, 0)
        fd = os.memfd_create("masked", os.MFD_CLOEXEC) if open_flags >= 0 else None
        return Lookup("found", stat=st, fd=fd)

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        raise SyscallError(errno.ENOTDIR)


class Subtree(Filesystem):
    """A view of part of another filesystem: a read-only remount of a path,
    the devfs's pts/ as a devpts mount, a bind mount made inside the
    sandbox. Every call goes to the filesystem beneath, its paths under
    `prefix`."""

    def __init__(self, fs: Filesystem, prefix: str, fstype: str | None = None):
        self.fs = fs
        self.prefix = prefix
        self.fstype = fstype or fs.fstype
        self.magic = fs.magic
        self.fixed_names = fs.fixed_names
        self.readonly = fs.readonly
        self.names_stable = fs.names_stable

    def _path(self, path: str) -> str:
        return "/".join(p for p in (self.prefix, path) if p)

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        found = self.fs.lookup(self._path(path), open_flags)
        if found.kind == "symlink" and self.prefix:  # count names as this mount sees them
            return found._replace(consumed=found.consumed - len(self.prefix.split("/")))
        return found

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        return self.fs.readdir(self._path(path))

    def listed(self, path: str) -> bool:
        return self.fs.listed(self._path(path))

    def create(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        return self.fs.create(self._path(path), mode, uid, gid, open_flags)

    def tmpfile(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        return self.fs.tmpfile(self._path(path), mode, uid, gid, open_flags)

    def mknod(self, path: str, mode: int, rdev: int, uid: int, gid: int) -> None:
        self.fs.mknod(self._path(path), mode, rdev, uid, gid)

    def mkdir(self, path: str, mode: int, uid: int, gid: int) -> None:
        self.fs.mkdir(self._path(path), mode, uid, gid)

    def symlink(self, path: str, target: str, uid: int, gid: int) -> None:
        self.fs.symlink(self._path(path), target, uid, gid)

    def link(self, old: str, new: str) -> None:
        self.fs.link(self._path(old), self._path(new))

    def link_node(self, node: object, new: str, host_fd: int = -1) -> None:
        self.fs.link_node(node, self._path(new), host_fd)

    def unlink(self, path: str) -> None:
        self.fs.unlink(self._path(path))

    def rmdir(self, path: str) -> None:
        self.fs.rmdir(self._path(path))

    def rename(self, old: str, new: str, flags: int) -> None:
        self.fs.rename(self._path(old), self._path(new), flags)

    def setattr(self, path: str, attrs, node: object = None) -> None:
        self.fs.setattr(self._path(path), attrs, node)

    def permission(self, path: str, st, creds, want: int) -> bool:
        return self.fs.permission(self._path(path), st, creds, want)

    def stat_node(self, node: object):
        return self.fs.stat_node(node)

    def shown(self, st):
        return self.fs.shown(st)

    def stat_is_stable(self, node: object, mode: int) -> bool:
        return self.fs.stat_is_stable(node, mode)

    def statfs(self) -> StatFs:
        return self.fs.statfs()

    def host_inode(self, path: str) -> int | None:
        return self.fs.host_inode(self._path(path))

    def file_caps(self, node: object, fd: int | None) -> bytes | None:
        return self.fs.file_caps(node, fd)

    def getxattr(self, path: str, name: str, node: object = None) -> bytes:
        return self.fs.getxattr(self._path(path), name, node)

    def setxattr(self, path: str, name: str, value: bytes, flags: int, node: object = None) -> None:
        self.fs.setxattr(self._path(path), name, value, flags, node)

    def listxattr(self, path: str, node: object = None) -> list[str]:
        return self.fs.listxattr(self._path(path), node)

    def removexattr(self, path: str, name: str, node: object = None) -> None:
        self.fs.removexattr(self._path(path), name, node)
