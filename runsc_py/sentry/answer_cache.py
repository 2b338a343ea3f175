"""Which stat and open answers the C loop may replay, and for whom.

`stat` (all four: stat, lstat, newfstatat, statx) and a read-only `open`
of an absolute path are answered here as
always; when the answer cannot change without the sentry knowing, it is
also handed to the C loop (csrc/answer_cache.c), which replays it for the
next such call on the same path by a task with the same *view*, without
entering Python (stat ~10 µs instead of ~40).

An answer can be replayed when nothing but a call the sentry handles can
change it:
- every filesystem the walk went through keeps its names to the sentry
  (`Filesystem.names_stable`: the overlay root and tmpfs; not procfs, whose
  `self` differs per caller, nor a host bind mount, which the host shares);
- the file's attributes are not moved by the workload's native I/O
  (`Filesystem.stat_is_stable`: directories, symlinks, unmodified rootfs
  files; not a tmpfs file, whose size and times follow its host memfd);
- or it is a failure of the walk itself (ENOENT, ENOTDIR, ELOOP, EACCES).
Opens are replayed only for rootfs files opened read-only, and only while
no inotify watch exists (a replayed open makes no IN_OPEN event).

The view is what else decides a walk: the caller's mount namespace, its
root (chroot) and the credentials its search and read permission are checked with. The C side
forgets everything at every trapped call not marked pure here, so a change
made through the sentry is never followed by a stale answer.

An open answered in C is *adopted* into the caller's fd table the next
time the sentry runs (`adopt`): installed from the template of the open
file description the sentry made the first time, or, if C also answered
its close, quarantined as after any native close.
"""
from __future__ import annotations

import errno
import itertools
import os
import stat as statmod
import weakref

from runsc_py.sentry.credentials import CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat

# Calls whose handling never changes any path's attributes or existence, nor
# a mount (a credentials change republishes the caller's view instead).
PURE = frozenset({
    # reading the tree
    "stat", "lstat", "newfstatat", "statx", "fstat", "access", "faccessat", "faccessat2",
    "readlink", "readlinkat", "getcwd", "getdents64", "statfs", "fstatfs",
    "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
    "chdir", "fchdir", "umask",
    # fds that name no path
    "close", "close_range", "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "flock", "ioctl",
    "eventfd", "eventfd2", "epoll_create", "epoll_create1", "timerfd_create", "signalfd",
    "signalfd4", "memfd_create", "pidfd_open", "pidfd_getfd",
    # processes, signals, identities
    "execve", "execveat", "clone", "clone3", "fork", "vfork", "prctl", "prlimit64",
    "setrlimit", "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    "pidfd_send_signal", "seccomp", "uname", "sysinfo", "sethostname", "setdomainname",
    "getgroups", "getresuid", "getresgid", "capget", "capset", "setuid", "setgid",
    "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
})
# Opens, pure when their flags (the argument at this index) neither write nor create.
READONLY_OPENS = {"open": 1, "openat": 2}
# Failures that depend only on the tree and the view, never on the moment.
WALK_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EACCES})
# The open flags a replayed open may carry besides O_RDONLY (csrc: OC_FLAGS_OK).
REPLAYABLE_OPEN_FLAGS = (os.O_LARGEFILE | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC
                         | os.O_NOFOLLOW | os.O_DIRECTORY)
# Which call an answer is for (csrc: RP_FORM_*): stat's struct or statx's,
# following a last symlink or not.
FORM_NOFOLLOW, FORM_STATX = 1, 2
# Bounds on what a workload can make the sentry remember: views (each set of
# groups is one), and open templates (each spelling of a path is one).
MAX_VIEWS = 1024
MAX_TEMPLATES = 8192


class AnswerCache:
    def __init__(self, vfs, platform, table):
        self.vfs = vfs
        self.platform = platform
        self._views: dict[tuple, int] = {}
        self._tables: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # id -> FdTable
        self._table_ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # FdTable -> id
        self._numbers = itertools.count(1)
        self._templates: dict[tuple, int] = {}       # (view, path, flags) -> template id
        self._files: dict[int, object] = {}          # template id -> OpenFile
        for nr, row in table.rows.items():
            if row.name in PURE:
                platform.mark_pure(nr)
            elif row.name in READONLY_OPENS:
                platform.mark_pure(nr, READONLY_OPENS[row.name])

    def view_of(self, process, here: bool = False) -> int:
        """A small number naming what a walk depends on besides the path;
        `here`: of a path relative to the working directory, which it names
        too (none for a chroot'ed process, whose cwd may lie outside its root)."""
        creds = process.creds
        if creds.capable(CAP_DAC_OVERRIDE) or creds.capable(CAP_DAC_READ_SEARCH):
            searcher = None  # search and read permission are never refused
        else:
            searcher = (creds.fsuid, creds.fsgid, tuple(sorted(creds.groups)))
        ns = process.mntns.inum if process.mntns is not None else 0
        key = (ns, process.fs.root, searcher)
        if here:
            if process.fs.root != "/":
                return 0
            key += (process.fs.cwd,)
        view = self._views.get(key)
        if view is None:
            if len(self._views) >= MAX_VIEWS:
                return 0  # nothing replayed for this caller
            view = self._views[key] = len(self._views) + 1
        return view

    def table_id(self, fds) -> int:
        """A small number naming an fd table, for opens C answers into it."""
        number = self._table_ids.get(fds)
        if number is None:
            number = self._table_ids[fds] = next(self._numbers)
            self._tables[number] = fds
        return number

    # -- stat ------------------------------------------------------------------

    def stat(self, process, path: str, follow: bool) -> Stat:
        """Resolve `path`, absolute or relative to the working directory, for
        `process` (the caller), and offer the answer to the fast path when
        it is one that may be replayed."""
        key = os.fsencode(path)
        try:
            res = self.vfs.resolve(process.fs.cwd, path, follow=follow)
        except SyscallError as exc:
            if exc.errno in WALK_ERRNOS and self.vfs.walk_stable:
                self._remember(process, key, follow, None, exc.errno)
            raise
        if self.vfs.walk_stable and res.mount.fs.stat_is_stable(res.node, res.stat.mode):
            self._remember(process, key, follow, res.stat, mount_id=res.mount.mount_id)
        return res.stat

    def _remember(self, process, key: bytes, follow: bool, st: Stat | None, err: int = 0,
                  mount_id: int | None = None) -> None:
        """Offer one answer in both shapes: stat's struct and statx's (with
        the mount's id, as syscalls/fs.py's statx gives it)."""
        view = self.view_of(process, here=not key.startswith(b"/"))
        if view == 0:
            return
        nofollow = 0 if follow else FORM_NOFOLLOW
        self.platform.remember_stat(view, nofollow, key, st.pack() if st else None, err)
        self.platform.remember_stat(view, FORM_STATX | nofollow, key,
                                    st.pack_statx(mount_id) if st else None, err)

    # -- open ------------------------------------------------------------------

    def offer_open(self, process, path: str, flags: int, file, host_fd: int) -> None:
        """After the sentry opened absolute `path` with `flags` into `file`
        (OpenFile) as host fd `host_fd`: let C replay it, if it may."""
        if (flags & os.O_ACCMODE != os.O_RDONLY or flags & ~REPLAYABLE_OPEN_FLAGS
                or file.kind != "file" or not self.vfs.walk_stable or self.vfs.inotify.watching()
                or not file.mount.fs.stat_is_stable(file.node, statmod.S_IFREG)):
            return
        view = self.view_of(process)
        key = (view, path, flags & ~os.O_CLOEXEC)
        template = self._templates.get(key)
        if template is None:
            if len(self._files) >= MAX_TEMPLATES:
                self.forget_templates()
            template = self._templates[key] = len(self._files) + 1
            self._files[template] = file.copy()
        self.platform.remember_open(view, os.fsencode(path), flags, host_fd, template)

    def forget_templates(self) -> None:
        """Start the templates afresh: C forgets every open naming one first. (No
        open C answered is waiting for adoption here: the sentry adopts them all
        before it handles a call.)"""
        self.platform.forget_answers()
        self._templates.clear()
        self._files.clear()

    def adopt(self, opened: list[tuple[int, int, int, bool, int]]) -> None:
        """Opens (and closes) C answered since the sentry last ran, in order:
        (table id, fd, template id, cloexec, host tid that closed it or 0)."""
        for table, fd, template, cloexec, closed_by in opened:
            fds = self._tables.get(table)
            if fds is None:  # every process of that table is gone
                continue
            if closed_by:
                fds.quarantine[fd] = closed_by
            else:
                file = self._files[template]
                flags = file.flags & ~os.O_CLOEXEC | (os.O_CLOEXEC if cloexec else 0)
                fds.install(fd, file.copy(flags=flags), cloexec)
