"""The container's root (or a bind mount) as served by the gofer process.

Changes (on a writable root with --overlay=none, or a writable bind mount:
the only ways a write reaches the host) are sent to the gofer, which makes
them with *at calls that never follow the last name.

Attributes are cached here (a dentry cache): every lookup that does not
open, and every directory listing (which the gofer sends with each entry's
attributes, readdirplus), fills it, so `stat` of a known path costs no
gofer round trip. This assumes the sandbox has the tree to itself, as
gVisor's default `--file-access=exclusive` does; a path the gofer later
reports missing is dropped. Under that assumption the answers that carry
no attributes are kept too: a symlink met in the middle of a path (a
merged-/usr root's /bin and /lib, met by every exec) and ENOENT (a
loader's /etc/ld.so.preload); a change through the gofer forgets them
for the path changed and beneath it. ENOENT is kept for the root only:
a bind mount's source is often shared with the host, and a file the
host makes there must show up where the sandbox waits for it.

Opens are cached the same way, for regular files opened without write
intent: the sentry keeps an O_PATH fd of the file the gofer opened, and
the next read-only open of that path re-opens it through the sentry's
/proc/self/fd, which reaches exactly the file the gofer vetted and costs
no round trip (a dynamic loader opens the same libraries at every exec).
Writes, and anything not a regular file, always go to the gofer.
"""
from __future__ import annotations

import collections
import errno
import os
import stat as statmod

from runsc_py.gofer import protocol as p
from runsc_py.gofer.client import GoferClient
from runsc_py.sentry import fifos
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat, relatime_moves
from runsc_py.sentry.vfs import Filesystem, Lookup, SetAttr, StatFs

CACHE_ENTRIES = 65536
HELD_FILES = 1024   # O_PATH fds the sentry keeps for re-opening without the gofer
WRITE_INTENT = os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_CREAT


def _open_fifo(opath: int, flags: int) -> int:
    """The gofer hands a FIFO over O_PATH (it must never wait): the open
    itself is the sentry's, which never waits either (sentry/fifos.py)."""
    if flags & os.O_PATH:
        return opath
    st = os.fstat(opath)
    return fifos.open_fifo(lambda f: os.open(f"/proc/self/fd/{opath}", f | os.O_CLOEXEC),
                           flags, (st.st_dev, st.st_ino), release=lambda: os.close(opath))


class GoferFilesystem(Filesystem):
    fstype = "9p"  # what gVisor calls its gofer mounts

    def __init__(self, client: GoferClient, readonly: bool, mount: int = 0, ids=None):
        self.client = client
        self.readonly = readonly
        self.mount = mount  # which of the gofer's roots
        self.ids = ids      # a container's user namespace (sentry/idmap.py), or None
        self._cache: collections.OrderedDict[str, Lookup] = collections.OrderedDict()
        self._held: collections.OrderedDict[str, int] = collections.OrderedDict()
        # Symlinks met in the middle of a path (their path -> target): /bin,
        # /lib and /sbin of a merged-/usr root are met by every exec.
        self._links: dict[str, str] = {}
        # The listing that came with the last directory opened for reading,
        # (path, entries), for the getdents64 that follows. It is the
        # directory as of that open: any other round trip, or any change
        # made through this filesystem, drops it.
        self._fresh_listing: tuple[str, list] | None = None
        # Paths the gofer said do not exist (a loader's /etc/ld.so.preload)
        self._missing: collections.OrderedDict[str, None] = collections.OrderedDict()

    def lookup(self, path: str, open_flags: int = -1) -> Lookup:
        if open_flags < 0 or not open_flags & WRITE_INTENT:
            hit = self._cache.get(path)
            if hit is not None:
                if open_flags < 0:
                    return hit
                held = self._held.get(path)
                if held is not None:
                    return hit._replace(fd=os.open(f"/proc/self/fd/{held}", open_flags | os.O_CLOEXEC))
            else:
                known = self._known_link_or_missing(path)
                if known is not None:
                    return known
        self._fresh_listing = None
        try:
            answer = self.client.lookup(path, open_flags, self.mount)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                self._cache.pop(path, None)
                if self.mount == 0:   # not a bind mount: see the module's comment
                    self._missing[path] = None
                if len(self._missing) > CACHE_ENTRIES:
                    self._missing.popitem(last=False)
            raise
        if answer[0] == "symlink":
            self._links["/".join(path.split("/")[: answer[1]])] = answer[2]
            return Lookup("symlink", consumed=answer[1], target=answer[2])
        _kind, st, target, fd, listing = answer
        st = self.shown(st)
        if listing is not None:
            self._fresh_listing = (path, self._entries(path, listing))
        if fd is not None and statmod.S_ISFIFO(st.mode):
            fd = _open_fifo(fd, open_flags)
        self._remember(path, Lookup("found", stat=st, target=target))
        if fd is not None and statmod.S_ISREG(st.mode) and not open_flags & WRITE_INTENT:
            self._hold(path, fd)
        return Lookup("found", stat=st, target=target, fd=fd)

    def _known_link_or_missing(self, path: str) -> Lookup | None:
        """What the gofer answered before for `path`: a symlink on the way, or ENOENT."""
        if path in self._missing:
            raise SyscallError(errno.ENOENT)
        if self._links:
            at = path.find("/")
            while at > 0:
                target = self._links.get(path[:at])
                if target is not None:
                    return Lookup("symlink", consumed=path.count("/", 0, at) + 1, target=target)
                at = path.find("/", at + 1)
        return None

    def _hold(self, path: str, fd: int) -> None:
        """Keep an O_PATH fd of a regular file the gofer opened, to re-open it later."""
        if path not in self._held:
            self._held[path] = os.open(f"/proc/self/fd/{fd}", os.O_PATH | os.O_CLOEXEC)
            if len(self._held) > HELD_FILES:
                os.close(self._held.popitem(last=False)[1])

    def host_inode(self, path: str) -> int | None:
        """The file the gofer opens, O_PATH (a held fd costs no round trip)."""
        try:
            found = self.lookup(path, os.O_PATH)
        except SyscallError:
            return None
        if found.fd is not None and not (found.target is None and statmod.S_ISREG(found.stat.mode)):
            os.close(found.fd)
            return None
        return found.fd

    def file_caps(self, node: object, fd: int | None) -> bytes | None:
        """Read from the host file the gofer opened: fgetxattr names no path."""
        if fd is None:
            return None
        try:
            return os.getxattr(fd, "security.capability")
        except OSError as exc:
            if exc.errno in (errno.ENODATA, errno.EOPNOTSUPP):
                return None
            raise

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]:
        fresh, self._fresh_listing = self._fresh_listing, None
        if fresh is not None and fresh[0] == path:
            return fresh[1]
        return self._entries(path, self.client.readdir(path, self.mount))

    def _entries(self, path: str, listing) -> list[tuple[int, int, bytes]]:
        """(ino, d_type, name) per entry of the gofer's listing of `path`,
        each entry's attributes remembered (readdirplus)."""
        out = []
        prefix = path + "/" if path else ""
        for name, st, target in listing:
            if st is None:
                continue  # vanished between the listing and its stat
            self._remember(prefix + name.decode("utf-8", "surrogateescape"),
                           Lookup("found", stat=self.shown(st), target=target))
            out.append((st.ino, (st.mode >> 12) & 0o17, name))
        return out

    def listed(self, path: str) -> bool:
        """The gofer's listing was a real getdents, so the host moved the
        directory's atime if relatime (the default mount option) says so:
        then the attributes kept here are stale, and are forgotten."""
        hit = self._cache.get(path)
        if hit is None or self.readonly or not relatime_moves(hit.stat.atime_ns, hit.stat.mtime_ns,
                                                              hit.stat.ctime_ns):
            return False
        self._cache.pop(path, None)
        return True

    def _remember(self, path: str, found: Lookup) -> None:
        self._cache[path] = found
        self._missing.pop(path, None)
        if len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    # -- changes: sent to the gofer; the cache forgets what they touch --------

    def _forget(self, *paths: str, below: bool = False) -> None:
        """Drop cached attributes of `paths`, their directories, and with
        `below` everything beneath them (a rename or removal moves a subtree)."""
        for path in paths:
            self._cache.pop(path, None)
            self._cache.pop(path.rpartition("/")[0], None)
            self._let_go(path)
            # a change may make a missing path exist, or replace a link on the way
            prefix = path + "/"
            for key in [k for k in self._missing if k == path or k.startswith(prefix)]:
                del self._missing[key]
            for key in [k for k in self._links if k == path or k.startswith(prefix)]:
                del self._links[key]
            if below:
                prefix = path + "/"
                for key in [k for k in self._cache if k.startswith(prefix)]:
                    del self._cache[key]
                for key in [k for k in self._held if k.startswith(prefix)]:
                    self._let_go(key)

    def _let_go(self, path: str) -> None:
        fd = self._held.pop(path, None)
        if fd is not None:
            os.close(fd)

    def shown(self, st: Stat) -> Stat:
        """A host file's attributes as the sandbox sees them (its owners in
        the container's ids, under a user namespace mapping)."""
        return st if self.ids is None else self.ids.shown(st)

    def _owner(self, uid: int, gid: int) -> bytes:
        if self.ids is not None:
            uid, gid = self.ids.owner(uid, gid)
        return p.OWNER.pack(uid, gid)

    def _change(self, op: int, path: str, **kw):
        self._fresh_listing = None
        try:
            return self.client.change(op, path, self.mount, **kw)
        finally:
            self._forget(path, kw.get("second") or path, below=op in (p.RENAME, p.RMDIR))

    def create(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        st, fd = self._change(p.CREATE, path, arg=mode, head=self._owner(uid, gid),
                              open_flags=open_flags)
        return Lookup("found", stat=self.shown(st), fd=fd)

    def tmpfile(self, path: str, mode: int, uid: int, gid: int, open_flags: int) -> Lookup:
        st, fd = self._change(p.TMPFILE, path, arg=mode, head=self._owner(uid, gid),
                              open_flags=open_flags)
        return Lookup("found", stat=self.shown(st), fd=fd)

    def mkdir(self, path: str, mode: int, uid: int, gid: int) -> None:
        self._change(p.MKDIR, path, arg=mode, head=self._owner(uid, gid))

    def mknod(self, path: str, mode: int, rdev: int, uid: int, gid: int) -> None:
        if statmod.S_ISREG(mode):  # mknod(S_IFREG) makes an empty file, as creat does
            os.close(self.create(path, mode, uid, gid, os.O_RDONLY).fd)
            return
        self._change(p.MKNOD, path, arg=mode, head=self._owner(uid, gid))

    def symlink(self, path: str, target: str, uid: int, gid: int) -> None:
        self._change(p.MKSYMLINK, path, head=self._owner(uid, gid), second=target)

    def link(self, old: str, new: str) -> None:
        self._change(p.LINK, old, second=new)

    def link_node(self, node: object, new: str, host_fd: int = -1) -> None:
        try:
            self._change(p.LINKFD, new, send_fd=host_fd)
        finally:  # the file's link count changed under whatever names it is cached by
            self._cache.clear()

    def unlink(self, path: str) -> None:
        self._change(p.UNLINK, path)

    def rmdir(self, path: str) -> None:
        self._change(p.RMDIR, path)

    def rename(self, old: str, new: str, flags: int) -> None:
        self._change(p.RENAME, old, arg=flags, second=new)

    def setattr(self, path: str, attrs: SetAttr, node: object = None) -> None:
        uid, gid = attrs.uid, attrs.gid
        if self.ids is not None:   # a chown to an id the mapping lacks: EINVAL
            uid = None if uid is None else self.ids.uids.to_host(uid)
            gid = None if gid is None else self.ids.gids.to_host(gid)
        fields = (attrs.mode, uid, gid, attrs.size, attrs.atime_ns, attrs.mtime_ns)
        mask = sum(bit for bit, value in zip(
            (p.ATTR_MODE, p.ATTR_UID, p.ATTR_GID, p.ATTR_SIZE, p.ATTR_ATIME, p.ATTR_MTIME), fields)
            if value is not None)
        self._change(p.SETATTR, path, head=p.ATTRS.pack(mask, *(v or 0 for v in fields)))

    def statfs(self) -> StatFs:
        magic, bsize, blocks, bfree, bavail, files, ffree, flags = self.client.statfs(self.mount)
        return StatFs(magic, bsize, blocks, bfree, bavail, files, ffree, flags=flags)
