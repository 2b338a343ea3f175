"""The VFS: the mount table and the one place guest paths are resolved.

A Filesystem implements `lookup(path, open_flags)` for paths *within* it
(names joined by "/", never "." or ".."); the VFS never asks which
filesystem it is talking to. resolve_path() walks a guest path:

- "." is skipped, ".." pops a name (at "/" it stays at "/"), lexically,
  which is exact because every prefix already walked is a real directory
  with no symlink in it;
- names are sent to the filesystem of the mount they fall in, in batches
  that stop at a mount point or a "..";
- a symlink the filesystem reports is spliced into the rest of the path
  (absolute targets restart at "/"), at most 40 times (ELOOP), so a link
  may lead into another mount, as on Linux.
"""
from __future__ import annotations

import abc
import collections
import errno
import os
import stat as statmod
import weakref
from collections.abc import Callable

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.inotify import InotifyTable
from runsc_py.sentry.mountns import MountNamespace
from runsc_py.sentry.permissions import CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, X_OK, permitted
from runsc_py.sentry.stat import Stat

PATH_MAX = 4096
NAME_MAX = 255
MAXSYMLINKS = 40
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4


class Lookup(collections.namedtuple("Lookup", "kind stat target fd consumed node jump",
                                     defaults=(None, None, None, 0, None, None))):
    """A filesystem's answer to a walk.

    found:   stat is set; target is the link text when the file is a symlink;
             fd is the opened host fd when open_flags was given (and not a symlink);
             node is the filesystem's own handle on the file, if it keeps one
    symlink: a symlink was met after `consumed` names, not at the end

    jump: set on a *magic link* (procfs's fd/N): followed as the last name,
          the link is not walked by its text; jump(open_flags) returns the
          Resolved file it names (opened when open_flags >= 0), as Linux's
          nd_jump_link does. In the middle of a path its text is walked.

    (kind: str; stat: Stat | None; target: str | None; fd: int | None;
    consumed: int; node: object; jump: Callable[[int], Resolved] | None.
    A collections.namedtuple: typing.NamedTuple costs ~3 ms to import.)
    """

    __slots__ = ()


class SetAttr:
    """What chmod, chown, truncate and utimensat change (None: leave as is)."""

    __slots__ = ("mode", "uid", "gid", "size", "atime_ns", "mtime_ns")

    def __init__(self, mode: int | None = None, uid: int | None = None, gid: int | None = None,
                 size: int | None = None, atime_ns: int | None = None,
                 mtime_ns: int | None = None):
        self.mode = mode            # permission bits only (07777)
        self.uid = uid
        self.gid = gid
        self.size = size
        self.atime_ns = atime_ns
        self.mtime_ns = mtime_ns


class StatFs(collections.namedtuple("StatFs", "type bsize blocks bfree bavail files ffree "
                                               "namelen flags", defaults=(NAME_MAX, 0))):
    """struct statfs, as statfs(2) fills it."""

    __slots__ = ()


class Filesystem(abc.ABC):
    """What the VFS asks of a filesystem. Paths are *within* the filesystem
    (names joined by "/", "" for its root), already resolved by the VFS: every
    name before the last is a directory, and no symlink is on the way.

    A filesystem that cannot change answers the change calls with EPERM;
    the VFS answers EROFS itself for read-only mounts before asking.
    The calls on an open file take the `node` a lookup returned.
    """

    readonly = True
    fstype = "none"
    magic = 0
    # Whether its names and their attributes change only through the sentry
    # (not per caller like procfs's `self`, not behind its back like a host
    # bind mount): the C loop may replay walks through it (answer_cache.py).
    names_stable = False
    # Whether a name that is not there cannot even be looked up (procfs: the
    # lookup fails ENOENT), so nothing can be created in it, by anyone.
    fixed_names = False

    @abc.abstractmethod
    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        """Walk `path`; open its final file too when open_flags >= 0."""

    @abc.abstractmethod
    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        """The directory's entries as (ino, d_type, name), without "." and ".."."""

    # -- changes (path within the filesystem; the parent exists) --

    def listed(self, path: str) -> bool:
        """The directory at `path` was read (getdents64): its access time, as
        Linux's file_accessed() with relatime moves it. True if an attribute
        changed (the C side forgets its answers). Filesystems whose times the
        host keeps (a gofer's: its own getdents), or that keep none, do nothing."""
        return False

    def create(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        """Create a regular file that does not exist yet and open it."""
        raise SyscallError(errno.EPERM)

    def tmpfile(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        """O_TMPFILE: an open regular file with no name, in the directory `path`."""
        raise SyscallError(errno.EOPNOTSUPP)

    def mknod(self, path: str, mode: int, rdev: int, uid: int, gid: int) -> None:
        raise SyscallError(errno.EPERM)

    def mkdir(self, path: str, mode: int, uid: int, gid: int) -> None:
        raise SyscallError(errno.EPERM)

    def symlink(self, path: str, target: str, uid: int, gid: int) -> None:
        raise SyscallError(errno.EPERM)

    def link(self, old: str, new: str) -> None:
        raise SyscallError(errno.EPERM)

    def link_node(self, node: object, new: str, host_fd: int = -1) -> None:
        """Give an open file the name `new`: linkat(AT_EMPTY_PATH). node is the
        lookup's node; host_fd a copy of the file's host fd (the caller closes it)."""
        raise SyscallError(errno.EXDEV)

    def unlink(self, path: str) -> None:
        raise SyscallError(errno.EPERM)

    def rmdir(self, path: str) -> None:
        raise SyscallError(errno.EPERM)

    def rename(self, old: str, new: str, flags: int) -> None:
        raise SyscallError(errno.EPERM)

    def setattr(self, path: str, attrs: SetAttr, node: object = None) -> None:
        raise SyscallError(errno.EPERM)

    def permission(self, path: str, st: Stat, creds, want: int) -> bool:
        """May `creds` have `want` (R_OK|W_OK|X_OK) of the file at `path` (whose
        attributes are `st`)? inode_operations.permission: the mode bits by
        generic_permission's rules unless the filesystem has its own."""
        return creds.may_access(st, want)

    def stat_node(self, node: object) -> Stat | None:
        """The attributes of an open file, or None to ask the host fd."""
        return None

    def shown(self, st: Stat) -> Stat:
        """A host fd's attributes as the sandbox sees them (the gofer's
        translate owners under a user namespace mapping)."""
        return st

    def stat_is_stable(self, node: object, mode: int) -> bool:
        """Whether the attributes of a file (a lookup's node, and its st_mode) stay
        as they are until the sentry changes them: false where the workload's
        native I/O moves them (a memfd's size)."""
        return False

    def statfs(self) -> StatFs:
        return StatFs(self.magic, 4096, 0, 0, 0, 0, 0)

    def host_inode(self, path: str) -> int | None:
        """An O_PATH fd (the caller closes it) of the host inode that holds the
        bytes of the regular file at `path`, where the workload's native reads
        and writes land, or None: not a regular file, or a file the sentry
        serves itself. The sentry's host inotify watches it (inotify_host.py)."""
        return None

    # -- extended attributes (only tmpfs keeps them) --

    def file_caps(self, node: object, fd: int | None) -> bytes | None:
        """The raw security.capability of a file exec is about to run (a
        lookup's node, and the host fd it opened), or None if it has none."""
        return None

    def getxattr(self, path: str, name: str, node: object = None) -> bytes:
        raise SyscallError(errno.ENOTSUP)

    def setxattr(self, path: str, name: str, value: bytes, flags: int, node: object = None) -> None:
        raise SyscallError(errno.ENOTSUP)

    def listxattr(self, path: str, node: object = None) -> list[str]:
        return []

    def removexattr(self, path: str, name: str, node: object = None) -> None:
        raise SyscallError(errno.ENOTSUP)


class Mount:
    """One entry of the mount table; /proc/<pid>/mounts and mountinfo render these."""

    __slots__ = ("mountpoint", "fs", "readonly", "dev", "mount_id", "source", "options",
                 "propagation", "root", "covered")

    def __init__(self, mountpoint: str, fs: Filesystem, readonly: bool, dev: int, mount_id: int,
                 source: str = "none", options: frozenset[str] = frozenset(), root: str = "/"):
        self.mountpoint = mountpoint  # canonical guest path
        self.fs = fs
        self.readonly = readonly
        self.dev = dev                # the st_dev the workload sees for files of this mount
        self.mount_id = mount_id      # mountinfo's first field
        self.source = source          # mounts' first field ("none", a bind's source)
        self.options = options        # of "nosuid", "nodev", "noexec"
        # mountinfo's optional fields: "shared", "slave", "unbindable" or None
        # (private). Shown only: nothing propagates between the sandbox's mounts.
        self.propagation: str | None = None
        self.root = root              # mountinfo's root: the directory of fs a bind shows
        self.covered: list[Mount] = []  # the mounts this one hides (sentry/mountns.py)

    def copy(self, mountpoint: str | None = None) -> "Mount":
        """The same mount in a new namespace: the same files (filesystem, st_dev, id)."""
        twin = Mount(self.mountpoint if mountpoint is None else mountpoint, self.fs,
                     self.readonly, self.dev, self.mount_id, self.source, self.options, self.root)
        twin.propagation = self.propagation
        return twin

    def __repr__(self) -> str:
        return f"Mount({self.mountpoint!r}, {self.fs.fstype}, id={self.mount_id})"

    @property
    def fstype(self) -> str:
        return self.fs.fstype


class Resolved:
    __slots__ = ("path", "mount", "rel", "stat", "target", "fd", "node", "open_file", "host_file")

    def __init__(self, path: str, mount: Mount, rel: str, stat: Stat, target: str | None = None,
                 fd: int | None = None, node: object = None, open_file: object = None,
                 host_file: Callable[[], int] | None = None):
        self.path = path        # canonical guest path of the result
        self.mount = mount
        self.rel = rel          # path within the mount
        self.stat = stat
        self.target = target    # link text, when the result is an unfollowed symlink
        self.fd = fd            # host fd, when resolve_path was asked to open
        self.node = node        # the filesystem's handle on the file (Lookup.node)
        # a magic link that names an open file (/proc/<pid>/fd/N): that OpenFile, and
        # a sentry copy of the host fd behind it (the caller closes it), so an unnamed
        # file can be linked
        self.open_file = open_file
        self.host_file = host_file

    def __repr__(self) -> str:
        return f"Resolved({self.path!r}, {self.mount!r}, {self.rel!r}, fd={self.fd})"


class Scope:
    """openat2's RESOLVE_* rules for one walk.

    root:  with `in_root` (RESOLVE_IN_ROOT), "/" and ".." stop at this
           directory (names of a canonical path), as if it were the root;
           without (RESOLVE_BENEATH), leaving it is EXDEV. None: no fence.
    """

    __slots__ = ("root", "in_root", "no_symlinks", "no_magiclinks", "no_xdev", "chroot")

    def __init__(self, root: tuple[str, ...] | None = None, in_root: bool = False,
                 no_symlinks: bool = False, no_magiclinks: bool = False, no_xdev: bool = False,
                 chroot: bool = False):
        self.root = root
        self.in_root = in_root
        self.no_symlinks = no_symlinks      # any symlink on the way: ELOOP
        self.no_magiclinks = no_magiclinks  # a procfs link (fd/N, exe, cwd, root): ELOOP
        self.no_xdev = no_xdev              # crossing into another mount: EXDEV
        self.chroot = chroot                # the fence is the caller's chroot, not openat2's

    def restart(self) -> list[str]:
        """Where an absolute path or link starts."""
        if self.root is None:
            return []
        if self.in_root:
            return list(self.root)
        raise SyscallError(errno.EXDEV)

    def up(self, cur: list[str]) -> None:
        """Apply ".." to `cur`: at the root it stays (or, beneath, fails); a walk that
        started outside the root (a chroot'ed cwd left outside) goes up as on Linux."""
        if self.root is not None and tuple(cur) == self.root:
            if self.in_root:
                return
            raise SyscallError(errno.EXDEV)
        if cur:
            cur.pop()

    def check_link(self, mount: "Mount", names: list[str]) -> None:
        if self.no_symlinks:
            raise SyscallError(errno.ELOOP)
        if self.no_magiclinks and mount.fstype == "proc" and names[-1] not in ("self", "thread-self"):
            raise SyscallError(errno.ELOOP)


NO_SCOPE = Scope()


class Entry:
    """A name in a resolved directory: what mkdir, unlink, rename... act on.

    The name may or may not exist. `mount`/`rel` are the directory's mount
    and the name's path within it; a name that is itself a mount point is
    `busy` (it cannot be removed or renamed).
    """

    __slots__ = ("parent", "name", "path", "mount", "rel", "trailing_slash", "busy")

    def __init__(self, parent: Resolved, name: str, path: str, mount: Mount, rel: str,
                 trailing_slash: bool, busy: bool):
        self.parent = parent
        self.name = name        # the last name; "/" for the root itself, or "." / ".."
        self.path = path        # canonical guest path of the name
        self.mount = mount
        self.rel = rel
        self.trailing_slash = trailing_slash
        self.busy = busy

    @property
    def special(self) -> bool:
        """The last name is "/", "." or ".." (Linux's LAST_ROOT/DOT/DOTDOT)."""
        return self.name in ("/", ".", "..")


class VFS:
    def __init__(self):
        # the sandbox's first mount namespace, and the one of the caller being
        # answered (the Kernel switches it, `use`): paths resolve in that one
        self.initial = MountNamespace()
        self.ns = self.initial
        self._namespaces: weakref.WeakSet = weakref.WeakSet()   # every other one alive
        # what mount(2) inside the sandbox can make (sentry/mounts.py NewFilesystems;
        # None: nothing, as in a VFS built for a test)
        self.new_filesystems = None
        self._next_id = 0
        # the credentials and root directory of the caller being answered (the
        # Kernel sets these): directories on the way need its search permission,
        # and a chroot'ed caller's walks stop at its root
        self.caller_creds: Callable[[], object] = lambda: None
        self.caller_root: Callable[[], str] = lambda: "/"
        # every open file description of the sandbox (the Kernel sets it): they follow renames
        self.open_files: Callable[[], object] = lambda: ()
        self.inotify = InotifyTable(self.mount_by_id)  # watchers of changes made through this VFS
        # whether the last walk went only through `names_stable` filesystems and
        # no magic link: its answer may be replayed in C (answer_cache.py)
        self.walk_stable = True

    @property
    def mounts(self) -> dict[str, Mount]:
        """The caller's mount table: canonical mount point -> Mount."""
        return self.ns.mounts

    def use(self, ns: MountNamespace) -> None:
        """Resolve from now on in the mount namespace `ns` (the caller's)."""
        self.ns = ns

    def mount(self, mountpoint: str, fs: Filesystem, readonly: bool = False, *,
              source: str = "none", options: frozenset[str] = frozenset(),
              dev: int | None = None, root: str = "/") -> Mount:
        """Mount `fs` at the canonical `mountpoint` of the caller's namespace,
        over what is there. `dev`: the st_dev of its files (a bind's is its
        source's; by default a number of its own)."""
        mount_id = self._new_id()
        m = Mount(mountpoint, fs, readonly, dev=0x100 + mount_id if dev is None else dev,
                  mount_id=mount_id, source=source, options=options, root=root)
        self.ns.add(m)
        return m

    def mount_copy(self, mount: Mount, mountpoint: str) -> Mount:
        """Another mount of the same files at `mountpoint` (a recursive bind's sub-mount)."""
        m = mount.copy(mountpoint)
        m.mount_id = self._new_id()
        m.propagation = None
        self.ns.add(m)
        return m

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def unshare(self, ns: MountNamespace) -> MountNamespace:
        """A new namespace, a copy of `ns` (unshare(CLONE_NEWNS))."""
        new = ns.copy()
        self._namespaces.add(new)
        return new

    def mount_by_id(self, mount_id: int) -> Mount | None:
        """A mount with that id: the caller's, else any namespace's (copies share their id)."""
        for ns in [self.ns, self.initial, *self._namespaces]:
            for m in ns.mounts.values():
                if m.mount_id == mount_id:
                    return m
        return None

    def mount_of_dev(self, dev: int) -> Mount | None:
        """The caller's mount whose files carry st_dev `dev`."""
        return next((m for m in self.mounts.values() if m.dev == dev), None)

    def renamed(self, mount: Mount, old: str, new: str, exchange: bool) -> None:
        """`old` (within `mount`) is now `new`, and with `exchange` the reverse:
        open files by those names or beneath them follow, as Linux's dentries
        do (their /proc/self/fd link, fchmod, fchdir, the names inotify gives).
        A file that was at `new` is unlinked."""
        pairs = ((old, new), (new, old)) if exchange else ((old, new),)
        for file in self.open_files():
            if file.mount is None or file.mount.mount_id != mount.mount_id:
                continue   # (a copy in another namespace holds the same files)
            prefix = file.mount.mountpoint.rstrip("/") + "/"
            if not exchange and file.rel == new:
                file.unlinked = True
                continue
            for a, b in pairs:
                if file.rel == a or file.rel.startswith(a + "/"):
                    file.rel = b + file.rel[len(a):]
                    file.path = prefix + file.rel
                    break

    def mount_of(self, names: list[str]) -> tuple[Mount, str]:
        """The caller's mount holding the canonical path `names`, and the path within it."""
        return self.ns.mount_of(names)

    def resolve(self, base: str, path: str, follow: bool = True,
                open_flags: int = -1, scope: Scope = NO_SCOPE) -> Resolved:
        """Resolve guest `path` relative to the directory `base`.

        follow: whether a symlink as the last name is followed (a trailing
        slash always follows). open_flags >= 0 also opens the result.
        scope: openat2's RESOLVE_* rules, if any.
        """
        if path == "":
            raise SyscallError(errno.ENOENT)
        if len(path) >= PATH_MAX:
            raise SyscallError(errno.ENAMETOOLONG)
        must_be_dir = path.endswith("/")
        follow = follow or must_be_dir
        self.walk_stable = True
        if scope.root is None:
            chroot = self.caller_root()
            if chroot != "/":  # chroot(2): "/" and ".." stop at the process's root
                scope = Scope(tuple(_split(chroot)), True, scope.no_symlinks,
                              scope.no_magiclinks, scope.no_xdev, chroot=True)
        cur = scope.restart() if path.startswith("/") else _split(base)
        start_mount = self.mount_of(cur)[0] if scope.no_xdev else None
        todo = _split(path)
        links = 0
        last: Lookup | None = None
        searcher = self._searcher()
        ns = self.ns
        while todo:
            name = todo.pop(0)
            if name == ".":
                continue
            if name == "..":
                scope.up(cur)
                last = None
                continue
            if searcher is not None:  # one name at a time, each directory searchable
                self._check_search(searcher, cur, last)
            batch = [name]
            depth = len(cur) + 1
            while searcher is None and todo and todo[0] not in (".", "..") and not (
                    depth + 1 in ns.depths and ns.is_mountpoint(cur + batch + todo[:1])):
                batch.append(todo.pop(0))
                depth += 1
            if any(len(n) > NAME_MAX for n in batch):
                raise SyscallError(errno.ENAMETOOLONG)
            mount, rel = ns.mount_of(cur + batch)
            if start_mount is not None and mount is not start_mount:
                raise SyscallError(errno.EXDEV)
            if not mount.fs.names_stable:
                self.walk_stable = False
            is_last = not todo
            want_open = open_flags if is_last and not must_be_dir else -1
            res = mount.fs.lookup(rel, want_open)
            if res.jump is not None and is_last and follow and not must_be_dir:
                if res.fd is not None:  # the link's own placeholder: not what is opened
                    os.close(res.fd)
                try:
                    return self._jump(res, mount, batch, scope, start_mount, links, open_flags)
                finally:
                    self.walk_stable = False  # where it leads depends on the caller
            if res.kind == "found" and (res.target is None or (is_last and not follow)):
                cur += batch
                last = res
                if todo and not statmod.S_ISDIR(res.stat.mode):
                    raise SyscallError(errno.ENOTDIR)
                continue
            # a symlink: in the middle of the batch, or its end that we follow
            links += 1
            if links > MAXSYMLINKS:
                raise SyscallError(errno.ELOOP)
            if res.kind == "symlink":  # counted within the mount: the batch may start above it
                consumed = len(batch) - len(_split(rel)) + res.consumed
            else:
                consumed = len(batch)
            scope.check_link(mount, batch[:consumed])
            target = res.target
            todo = _split(target) + batch[consumed:] + todo
            if target.startswith("/"):
                cur = scope.restart()
            else:
                cur += batch[: consumed - 1]
            last = None
        mount, rel = self.mount_of(cur)
        if start_mount is not None and mount is not start_mount:
            raise SyscallError(errno.EXDEV)
        if not mount.fs.names_stable:
            self.walk_stable = False
        if last is None:
            last = mount.fs.lookup(rel, open_flags if not must_be_dir else -1)
            if last.kind != "found":  # the root of a mount cannot be a link
                raise SyscallError(errno.ELOOP)
        if must_be_dir and not statmod.S_ISDIR(last.stat.mode):
            raise SyscallError(errno.ENOTDIR)
        fd = last.fd
        if open_flags >= 0 and (must_be_dir or fd is None):
            # a trailing slash, or a last name that was no name ("dir/.", "dir/sub/.."):
            # the directory the walk ended in is opened now
            fd = mount.fs.lookup(rel, open_flags).fd
        return Resolved("/" + "/".join(cur), mount, rel, last.stat.with_dev(mount.dev),
                        last.target, fd, last.node)

    def _jump(self, res: Lookup, mount: Mount, batch: list[str], scope: Scope,
              start_mount: Mount | None, links: int, open_flags: int) -> Resolved:
        """Follow a magic link as Linux's nd_jump_link does, scope rules first."""
        if links + 1 > MAXSYMLINKS:
            raise SyscallError(errno.ELOOP)
        scope.check_link(mount, batch)        # RESOLVE_NO_SYMLINKS, NO_MAGICLINKS: ELOOP
        if scope.root is not None and not scope.chroot:   # openat2's BENEATH, IN_ROOT
            raise SyscallError(errno.EXDEV)
        if start_mount is None:
            return res.jump(open_flags)
        found = res.jump(-1)                  # RESOLVE_NO_XDEV: where it leads, before opening
        if found.mount is not start_mount:
            raise SyscallError(errno.EXDEV)
        return res.jump(open_flags) if open_flags >= 0 else found

    def _searcher(self):
        """The caller's credentials when its search permission must be checked, else None."""
        creds = self.caller_creds()
        if creds is None or creds.capable(CAP_DAC_OVERRIDE) or creds.capable(CAP_DAC_READ_SEARCH):
            return None
        return creds

    def _check_search(self, creds, cur: list[str], last: Lookup | None) -> None:
        """may_lookup(): the directory `cur` (whose lookup may be `last`) must be searchable."""
        if last is None or last.stat is None:
            mount, rel = self.mount_of(cur)
            last = mount.fs.lookup(rel)
        if not permitted(creds, last.stat, X_OK):
            raise SyscallError(errno.EACCES)

    def parent_of(self, base: str, path: str, scope: Scope = NO_SCOPE) -> Entry:
        """Resolve all of `path` but its last name, which must be a directory."""
        if path == "":
            raise SyscallError(errno.ENOENT)
        if len(path) >= PATH_MAX:
            raise SyscallError(errno.ENAMETOOLONG)
        stripped = path.rstrip("/")
        if not stripped:  # "/" itself
            root = self.resolve("/", "/")
            return Entry(root, "/", "/", root.mount, "", True, True)
        dirpart, _, name = stripped.rpartition("/")
        if len(name) > NAME_MAX:
            raise SyscallError(errno.ENAMETOOLONG)
        parent = self.resolve(base, dirpart if dirpart else ("/" if stripped.startswith("/") else "."),
                              scope=scope)
        if not statmod.S_ISDIR(parent.stat.mode):
            raise SyscallError(errno.ENOTDIR)
        child = parent.path.rstrip("/") + "/" + name
        rel = f"{parent.rel}/{name}" if parent.rel else name
        return Entry(parent, name, child, parent.mount, rel, stripped != path,
                     child in self.mounts)

    def lookup_entry(self, entry: Entry) -> Lookup | None:
        """What the name is now (no symlink followed), or None if it does not exist."""
        if entry.busy:
            return self.mounts[entry.path].fs.lookup("")
        try:
            found = entry.mount.fs.lookup(entry.rel)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        return found


def _split(path: str) -> list[str]:
    return [n for n in path.split("/") if n]


def join(base: str, path: str) -> str:
    """Lexical join of a guest path onto a directory, for display and /proc."""
    return path if path.startswith("/") else (base.rstrip("/") + "/" + path)


def check_rename(old: str, new: str, flags: int, src_is_dir: bool, dst_is_dir: bool,
                 dst_exists: bool, dst_has_entries: bool, same_file: bool) -> bool:
    """Linux's checks of a rename within one filesystem (fs/namei.c), in its order.

    Returns False when there is nothing to do (both names are one file).
    """
    if flags & RENAME_NOREPLACE and dst_exists:
        raise SyscallError(errno.EEXIST)
    if flags & RENAME_EXCHANGE and not dst_exists:
        raise SyscallError(errno.ENOENT)
    if old != new and (new + "/").startswith(old + "/"):
        raise SyscallError(errno.EINVAL)  # the source is an ancestor of the target
    if old != new and (old + "/").startswith(new + "/"):  # the target is an ancestor of the source
        raise SyscallError(errno.EINVAL if flags & RENAME_EXCHANGE else errno.ENOTEMPTY)
    if same_file:
        return False
    if dst_exists and not flags & RENAME_EXCHANGE:
        if src_is_dir and not dst_is_dir:
            raise SyscallError(errno.ENOTDIR)
        if not src_is_dir and dst_is_dir:
            raise SyscallError(errno.EISDIR)
        if dst_is_dir and dst_has_entries:
            raise SyscallError(errno.ENOTEMPTY)
    return True
