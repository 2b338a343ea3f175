"""Syscalls on paths and file metadata: the stat family, access, readlink, cwd,
and the calls that would change the tree (read-only until the VFS issue).
"""
from __future__ import annotations

import errno
import os
import posixpath
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat
from runsc_py.syscalls.context import AT_FDCWD, SyscallContext, as_int

AT_SYMLINK_NOFOLLOW = 0x100
AT_EACCESS = 0x200
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
AT_STATX_SYNC_TYPE = 0x6000
F_OK, X_OK, W_OK, R_OK = 0, 1, 2, 4


# -- stat ------------------------------------------------------------------

def _stat_fd(ctx: SyscallContext, fd: int) -> Stat:
    file = ctx.fds.file(fd)
    if file.kind == "dir" and file.mount is not None:
        return _stat_path(ctx, "/", file.path, follow=True)
    host_fd = ctx.kernel.borrow_fd(ctx.task, fd)
    try:
        st = Stat.from_os(os.fstat(host_fd))
    finally:
        os.close(host_fd)
    return st.with_dev(file.mount.dev) if file.mount is not None else st


def _stat_path(ctx: SyscallContext, base: str, path: str, follow: bool) -> Stat:
    return ctx.kernel.vfs.resolve(base, path, follow=follow).stat


def _stat_at(ctx: SyscallContext, dirfd: int, path_addr: int, flags: int) -> Stat:
    path = ctx.path(path_addr)
    if path == "" and flags & AT_EMPTY_PATH:
        if as_int(dirfd) == AT_FDCWD:
            return _stat_path(ctx, "/", ctx.process.fs.cwd, follow=True)
        return _stat_fd(ctx, as_int(dirfd))
    return _stat_path(ctx, ctx.base_dir(dirfd), path, follow=not flags & AT_SYMLINK_NOFOLLOW)


def stat(ctx, path, buf):
    return newfstatat(ctx, AT_FDCWD, path, buf, 0)


def lstat(ctx, path, buf):
    return newfstatat(ctx, AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW)


def fstat(ctx, fd, buf):
    ctx.write(buf, _stat_fd(ctx, as_int(fd)).pack())
    return 0


def newfstatat(ctx, dirfd, path, buf, flags):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT):
        raise SyscallError(errno.EINVAL)
    ctx.write(buf, _stat_at(ctx, dirfd, path, flags).pack())
    return 0


def statx(ctx, dirfd, path, flags, mask, buf):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE):
        raise SyscallError(errno.EINVAL)
    ctx.write(buf, _stat_at(ctx, dirfd, path, flags).pack_statx())
    return 0


# -- access, readlink --------------------------------------------------------

def access(ctx, path, mode):
    return faccessat2(ctx, AT_FDCWD, path, mode, 0)


def faccessat(ctx, dirfd, path, mode):
    return faccessat2(ctx, dirfd, path, mode, 0)


def faccessat2(ctx, dirfd, path, mode, flags):
    if mode & ~7 or flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(errno.EINVAL)
    path_s = ctx.path(path)
    if path_s == "" and flags & AT_EMPTY_PATH:
        st, readonly = _stat_fd(ctx, as_int(dirfd)), _fd_readonly(ctx, as_int(dirfd))
    else:
        res = ctx.kernel.vfs.resolve(ctx.base_dir(dirfd), path_s,
                                     follow=not flags & AT_SYMLINK_NOFOLLOW)
        st, readonly = res.stat, res.mount.readonly
    if mode & W_OK and readonly and not statmod.S_ISCHR(st.mode):
        raise SyscallError(errno.EROFS)
    if not ctx.process.creds.may_access(st, mode):
        raise SyscallError(errno.EACCES)
    return 0


def _fd_readonly(ctx, fd: int) -> bool:
    mount = ctx.fds.file(fd).mount
    return mount is not None and mount.readonly


def readlink(ctx, path, buf, size):
    return readlinkat(ctx, AT_FDCWD, path, buf, size)


def readlinkat(ctx, dirfd, path, buf, size):
    if as_int(size) <= 0:
        raise SyscallError(errno.EINVAL)
    res = ctx.kernel.vfs.resolve(ctx.base_dir(dirfd), ctx.path(path), follow=False)
    if res.target is None:
        raise SyscallError(errno.EINVAL)
    data = os.fsencode(res.target)[: as_int(size)]
    ctx.write(buf, data)
    return len(data)


# -- the working directory ---------------------------------------------------

def getcwd(ctx, buf, size):
    data = os.fsencode(ctx.process.fs.cwd) + b"\0"
    if len(data) > size:
        raise SyscallError(errno.ERANGE)
    ctx.write(buf, data)
    return len(data)


def chdir(ctx, path):
    res = ctx.kernel.vfs.resolve(ctx.process.fs.cwd, ctx.path(path))
    _enter(ctx, res.path, res.stat)
    return 0


def fchdir(ctx, fd):
    file = ctx.fds.file(as_int(fd))
    if file.kind != "dir":
        raise SyscallError(errno.ENOTDIR)
    ctx.process.fs.cwd = file.path
    return 0


def _enter(ctx, path: str, st: Stat) -> None:
    if not statmod.S_ISDIR(st.mode):
        raise SyscallError(errno.ENOTDIR)
    if not ctx.process.creds.may_execute(st):
        raise SyscallError(errno.EACCES)
    ctx.process.fs.cwd = path


def umask(ctx, mask):
    old = ctx.process.fs.umask
    ctx.process.fs.umask = mask & 0o777
    return old


# -- calls that change the tree: every mount is read-only for now -------------
# Each resolves what Linux resolves first, so ENOENT/ENOTDIR/EEXIST come out
# as they would, and then refuses with EROFS.

def _refuse_change(ctx, dirfd, path_addr, creates: bool, follow: bool = False) -> int:
    path = ctx.path(path_addr)
    base = ctx.base_dir(dirfd)
    try:
        res = ctx.kernel.vfs.resolve(base, path, follow=follow)
    except SyscallError as exc:
        if exc.errno != errno.ENOENT or not creates:
            raise
        parent = ctx.kernel.vfs.resolve(base, posixpath.dirname(path.rstrip("/")) or ".")
        if not statmod.S_ISDIR(parent.stat.mode):
            raise SyscallError(errno.ENOTDIR) from None
        if parent.mount.readonly:
            raise SyscallError(errno.EROFS) from None
        raise
    if creates:
        raise SyscallError(errno.EEXIST)
    if res.mount.readonly:
        raise SyscallError(errno.EROFS)
    raise SyscallError(errno.ENOSYS, "writable mounts come with the VFS issue")


def mkdir(ctx, path, mode):
    return _refuse_change(ctx, AT_FDCWD, path, creates=True)


def mkdirat(ctx, dirfd, path, mode):
    return _refuse_change(ctx, dirfd, path, creates=True)


def mknod(ctx, path, mode, dev):
    return _refuse_change(ctx, AT_FDCWD, path, creates=True)


def mknodat(ctx, dirfd, path, mode, dev):
    return _refuse_change(ctx, dirfd, path, creates=True)


def symlink(ctx, target, path):
    return _refuse_change(ctx, AT_FDCWD, path, creates=True)


def symlinkat(ctx, target, dirfd, path):
    return _refuse_change(ctx, dirfd, path, creates=True)


def link(ctx, old, new):
    return linkat(ctx, AT_FDCWD, old, AT_FDCWD, new, 0)


def linkat(ctx, olddirfd, old, newdirfd, new, flags):
    ctx.kernel.vfs.resolve(ctx.base_dir(olddirfd), ctx.path(old), follow=bool(flags & AT_SYMLINK_FOLLOW))
    return _refuse_change(ctx, newdirfd, new, creates=True)


def unlink(ctx, path):
    return _refuse_change(ctx, AT_FDCWD, path, creates=False)


def rmdir(ctx, path):
    return _refuse_change(ctx, AT_FDCWD, path, creates=False)


def unlinkat(ctx, dirfd, path, flags):
    if flags & ~AT_REMOVEDIR:
        raise SyscallError(errno.EINVAL)
    return _refuse_change(ctx, dirfd, path, creates=False)


def rename(ctx, old, new):
    return _refuse_change(ctx, AT_FDCWD, old, creates=False)


def renameat(ctx, olddirfd, old, newdirfd, new):
    return _refuse_change(ctx, olddirfd, old, creates=False)


def renameat2(ctx, olddirfd, old, newdirfd, new, flags):
    return _refuse_change(ctx, olddirfd, old, creates=False)


def chmod(ctx, path, mode):
    return _refuse_change(ctx, AT_FDCWD, path, creates=False, follow=True)


def fchmodat(ctx, dirfd, path, mode):
    return _refuse_change(ctx, dirfd, path, creates=False, follow=True)


def chown(ctx, path, uid, gid):
    return _refuse_change(ctx, AT_FDCWD, path, creates=False, follow=True)


def lchown(ctx, path, uid, gid):
    return _refuse_change(ctx, AT_FDCWD, path, creates=False)


def fchownat(ctx, dirfd, path, uid, gid, flags):
    return _refuse_change(ctx, dirfd, path, creates=False, follow=not flags & AT_SYMLINK_NOFOLLOW)


def truncate(ctx, path, length):
    return _refuse_change(ctx, AT_FDCWD, path, creates=False, follow=True)


def utimensat(ctx, dirfd, path, times, flags):
    if path == 0:  # futimens(fd): the file behind dirfd
        if _fd_readonly(ctx, as_int(dirfd)):
            raise SyscallError(errno.EROFS)
        raise SyscallError(errno.ENOSYS, "timestamps on host fds come with the VFS issue")
    return _refuse_change(ctx, dirfd, path, creates=False, follow=not flags & AT_SYMLINK_NOFOLLOW)


def fchmod(ctx, fd, mode):
    return _refuse_fd_change(ctx, fd)


def fchown(ctx, fd, uid, gid):
    return _refuse_fd_change(ctx, fd)


def _refuse_fd_change(ctx, fd) -> int:
    if _fd_readonly(ctx, as_int(fd)):
        raise SyscallError(errno.EROFS)
    raise SyscallError(errno.ENOSYS, "metadata changes on host fds come with the VFS issue")
