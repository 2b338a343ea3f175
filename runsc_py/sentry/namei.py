"""Changing the tree by path: mkdir, mknod, symlink, link, unlink, rmdir, rename.

Linux's fs/namei.c decides these calls' errors in a fixed order, which
programs (and our differential tests) observe: the directory is resolved
(ENOENT, ENOTDIR, ELOOP), then "." / ".." / "/" get their own answers,
then existence (EEXIST, ENOENT), the mount (EROFS), permission (EACCES,
EPERM), and only then the filesystem acts. Each function here does that
over the VFS, for whichever filesystem holds the directory.
"""
from __future__ import annotations

import errno
import os
import stat as statmod

from runsc_py.sentry import inotify, permissions
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.vfs import RENAME_EXCHANGE, VFS, Entry


def _writable(entry: Entry) -> None:
    if entry.mount.readonly:
        raise SyscallError(errno.EROFS)


def new_entry(vfs: VFS, creds, base: str, path: str, allow_slash: bool = False,
              may_create: bool = True) -> Entry:
    """The name a creating call makes: it must not exist, its mount must be
    writable (filename_create()) and, unless the caller checks it later
    (link: after may_linkat), its directory writable by the caller."""
    entry = vfs.parent_of(base, path)
    if entry.special:
        raise SyscallError(errno.EEXIST)
    exists = vfs.lookup_entry(entry) is not None
    if exists:
        raise SyscallError(errno.EEXIST)
    if entry.mount.fs.fixed_names:  # its lookup of the new name fails (procfs)
        raise SyscallError(errno.ENOENT)
    if entry.trailing_slash and not allow_slash:
        raise SyscallError(errno.ENOENT)
    _writable(entry)
    if may_create:
        permissions.check_create(creds, entry.parent.stat)
    return entry


def mkdir(vfs: VFS, creds, base: str, path: str, mode: int) -> None:
    entry = new_entry(vfs, creds, base, path, allow_slash=True)
    uid, gid, mode = permissions.new_owner(creds, entry.parent.stat, statmod.S_IFDIR | mode)
    entry.mount.fs.mkdir(entry.rel, mode & 0o7777, uid, gid)
    _created(vfs, entry, is_dir=True)


def mknod(vfs: VFS, creds, base: str, path: str, mode: int, rdev: int) -> None:
    kind = statmod.S_IFMT(mode)
    if kind not in (0, statmod.S_IFREG, statmod.S_IFIFO, statmod.S_IFSOCK,
                    statmod.S_IFCHR, statmod.S_IFBLK):
        raise SyscallError(errno.EINVAL)
    entry = new_entry(vfs, creds, base, path)
    if kind in (statmod.S_IFCHR, statmod.S_IFBLK):
        raise SyscallError(errno.EPERM)  # no device nodes in the sandbox
    uid, gid, mode = permissions.new_owner(creds, entry.parent.stat, mode)
    entry.mount.fs.mknod(entry.rel, (kind or statmod.S_IFREG) | (mode & 0o7777), rdev, uid, gid)
    _created(vfs, entry)


def symlink(vfs: VFS, creds, base: str, path: str, target: str) -> None:
    if target == "":
        raise SyscallError(errno.ENOENT)
    entry = new_entry(vfs, creds, base, path)
    uid, gid, _ = permissions.new_owner(creds, entry.parent.stat, statmod.S_IFLNK)
    entry.mount.fs.symlink(entry.rel, target, uid, gid)
    _created(vfs, entry)


def link(vfs: VFS, creds, old_base: str, old: str, new_base: str, new: str,
         follow: bool) -> None:
    src = vfs.resolve(old_base, old, follow=follow)
    if src.open_file is not None and src.stat.nlink == 0 and not statmod.S_ISDIR(src.stat.mode):
        # /proc/<pid>/fd/N of a file with no name (an O_TMPFILE): link that file
        host_fd = src.host_file()
        try:
            _link_file(vfs, creds, src.open_file, host_fd, new_base, new)
        finally:
            os.close(host_fd)
        return
    entry = new_entry(vfs, creds, new_base, new, may_create=False)
    if src.mount is not entry.mount:
        raise SyscallError(errno.EXDEV)
    permissions.check_link_source(creds, src.stat)   # do_linkat's order, then vfs_link's
    permissions.check_create(creds, entry.parent.stat)
    if statmod.S_ISDIR(src.stat.mode):
        raise SyscallError(errno.EPERM)
    entry.mount.fs.link(src.rel, entry.rel)
    vfs.inotify.inode_event(src.mount.mount_id, src.rel, inotify.IN_ATTRIB)  # its link count
    _created(vfs, entry)


def link_open_file(vfs: VFS, creds, file, host_fd: int, new_base: str, new: str) -> None:
    """linkat(fd, "", AT_EMPTY_PATH): a name for an open file (an O_TMPFILE, usually)."""
    if not creds.capable(permissions.CAP_DAC_READ_SEARCH):
        raise SyscallError(errno.ENOENT)  # Linux's answer without the capability
    _link_file(vfs, creds, file, host_fd, new_base, new)


def _link_file(vfs: VFS, creds, file, host_fd: int, new_base: str, new: str) -> None:
    if file.mount is None or file.kind == "dir":
        raise SyscallError(errno.EPERM if file.kind == "dir" else errno.EXDEV)
    if file.flags & os.O_TMPFILE == os.O_TMPFILE and file.flags & os.O_EXCL:
        raise SyscallError(errno.ENOENT)
    entry = new_entry(vfs, creds, new_base, new)
    if entry.mount is not file.mount:
        raise SyscallError(errno.EXDEV)
    entry.mount.fs.link_node(file.node, entry.rel, host_fd)
    _created(vfs, entry)


def _created(vfs: VFS, entry: Entry, is_dir: bool = False) -> None:
    vfs.inotify.event(entry.mount.mount_id, entry.rel, inotify.IN_CREATE, is_dir)


def unlink(vfs: VFS, creds, base: str, path: str) -> None:
    entry = vfs.parent_of(base, path)
    if entry.special:
        raise SyscallError(errno.EISDIR)
    _writable(entry)
    found = vfs.lookup_entry(entry)
    if found is None:
        raise SyscallError(errno.ENOENT)
    if statmod.S_ISDIR(found.stat.mode):
        raise SyscallError(errno.EISDIR)
    if entry.trailing_slash:
        raise SyscallError(errno.ENOTDIR)
    permissions.check_delete(creds, entry.parent.stat, found.stat)
    entry.mount.fs.unlink(entry.rel)
    vfs.inotify.removed(entry.mount.mount_id, entry.rel, is_dir=False)


def rmdir(vfs: VFS, creds, base: str, path: str) -> None:
    entry = vfs.parent_of(base, path)
    if entry.name == ".":
        raise SyscallError(errno.EINVAL)
    if entry.name == "..":
        raise SyscallError(errno.ENOTEMPTY)
    if entry.name == "/":
        raise SyscallError(errno.EBUSY)
    _writable(entry)
    found = vfs.lookup_entry(entry)
    if found is None:
        raise SyscallError(errno.ENOENT)
    if not statmod.S_ISDIR(found.stat.mode):
        raise SyscallError(errno.ENOTDIR)
    permissions.check_delete(creds, entry.parent.stat, found.stat)
    if entry.busy:
        raise SyscallError(errno.EBUSY)
    entry.mount.fs.rmdir(entry.rel)
    vfs.inotify.removed(entry.mount.mount_id, entry.rel, is_dir=True)


def rename(vfs: VFS, creds, old_base: str, old: str, new_base: str, new: str,
           flags: int) -> None:
    src = vfs.parent_of(old_base, old)  # both directories first, then the names
    dst = vfs.parent_of(new_base, new)
    if src.mount is not dst.mount:
        raise SyscallError(errno.EXDEV)
    if src.special or dst.special:
        raise SyscallError(errno.EBUSY)
    _writable(src)
    src_found = vfs.lookup_entry(src)
    if src_found is None:
        raise SyscallError(errno.ENOENT)
    src_is_dir = statmod.S_ISDIR(src_found.stat.mode)
    dst_found = vfs.lookup_entry(dst)
    if dst_found is None and dst.mount.fs.fixed_names:
        raise SyscallError(errno.ENOENT)
    if (src.trailing_slash or (dst.trailing_slash and dst_found is None)) and not src_is_dir:
        raise SyscallError(errno.ENOTDIR)
    permissions.check_delete(creds, src.parent.stat, src_found.stat)
    if dst_found is not None:
        permissions.check_delete(creds, dst.parent.stat, dst_found.stat)
    else:
        if flags & RENAME_EXCHANGE:
            raise SyscallError(errno.ENOENT)
        permissions.check_create(creds, dst.parent.stat)
    if src.busy or dst.busy:
        raise SyscallError(errno.EBUSY)
    src.mount.fs.rename(src.rel, dst.rel, flags)
    if dst_found is not None and dst_found.stat.ino == src_found.stat.ino:
        return  # two names of one file: vfs_rename does nothing, and says nothing
    vfs.renamed(src.mount, src.rel, dst.rel, bool(flags & RENAME_EXCHANGE))
    vfs.inotify.moved(src.mount.mount_id, src.rel, dst.rel, src_is_dir,
                      exchange=bool(flags & RENAME_EXCHANGE))
