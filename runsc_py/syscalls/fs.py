"""Syscalls on paths and file metadata: the stat family, access, readlink, cwd,
the calls that change the tree (sentry/namei.py), attributes (sentry/attrs.py),
statfs and extended attributes.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat as statmod
import struct

from runsc_py.platform import NATIVE
from runsc_py.sentry import attrs, inotify, namei
from runsc_py.sentry.fdtable import OpenFile
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.vfs import RENAME_EXCHANGE, RENAME_NOREPLACE
from runsc_py.syscalls.context import AT_FDCWD, SyscallContext, as_int, as_long

AT_SYMLINK_NOFOLLOW = 0x100
AT_EACCESS = 0x200
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
AT_STATX_SYNC_TYPE = 0x6000
STATX__RESERVED = 0x80000000
F_OK, X_OK, W_OK, R_OK = 0, 1, 2, 4


# -- stat ------------------------------------------------------------------

def _stat_fd(ctx: SyscallContext, fd: int) -> Stat:
    """An open file's attributes: the filesystem's, with the bytes' size and
    times from the host object (native writes change them)."""
    file = ctx.fds.file(fd)
    mount = file.mount
    if file.flags & os.O_PATH and mount is not None:  # nothing on the host (fdtable.py)
        return _stat_path(ctx, "/", file.path, follow=False)
    st = mount.fs.stat_node(file.node) if mount is not None and file.node is not None else None
    if st is None and file.kind in ("dir", "device") and mount is not None:
        st = _stat_path(ctx, "/", file.path, follow=True)   # as its name shows it (ttyname)
    if st is not None and not statmod.S_ISREG(st.mode):
        return st.with_dev(mount.dev)
    host_fd = ctx.kernel.borrow_fd(ctx.task, fd)
    try:
        host = Stat.from_os(os.fstat(host_fd))
    finally:
        os.close(host_fd)
    if mount is not None:
        host = mount.fs.shown(host)
    if st is not None:
        host = st._replace(size=host.size, blocks=host.blocks, atime_ns=max(st.atime_ns, host.atime_ns),
                           mtime_ns=max(st.mtime_ns, host.mtime_ns),
                           ctime_ns=max(st.ctime_ns, host.ctime_ns))
    return host.with_dev(mount.dev) if mount is not None else host


def _stat_path(ctx: SyscallContext, base: str, path: str, follow: bool) -> Stat:
    return ctx.kernel.vfs.resolve(base, path, follow=follow).stat


def _stat_at(ctx: SyscallContext, dirfd: int, path_addr: int, flags: int) -> Stat:
    path = ctx.path(path_addr)
    if path == "" and flags & AT_EMPTY_PATH:
        if as_int(dirfd) == AT_FDCWD:
            return _stat_path(ctx, "/", ctx.process.fs.cwd, follow=True)
        return _stat_fd(ctx, as_int(dirfd))
    follow = not flags & AT_SYMLINK_NOFOLLOW
    if path.startswith("/") or as_int(dirfd) == AT_FDCWD:  # the C fast path may replay it
        return ctx.kernel.answer_cache.stat(ctx.process, path, follow)
    return _stat_path(ctx, ctx.base_dir(dirfd, path), path, follow)


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
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) \
            or flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE or mask & STATX__RESERVED:
        raise SyscallError(errno.EINVAL)  # (FORCE_SYNC and DONT_SYNC at once)
    st = _stat_at(ctx, dirfd, path, flags)
    mount = ctx.kernel.vfs.mount_of_dev(st.dev)
    ctx.write(buf, st.pack_statx(mount.mount_id if mount is not None else None))
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
    creds = ctx.process.creds
    if path_s == "" and flags & AT_EMPTY_PATH:
        st, readonly = _stat_fd(ctx, as_int(dirfd)), _fd_readonly(ctx, as_int(dirfd))
        allowed = creds.may_access(st, mode)
    else:
        res = ctx.kernel.vfs.resolve(ctx.base_dir(dirfd, path_s), path_s,
                                     follow=not flags & AT_SYMLINK_NOFOLLOW)
        st, readonly = res.stat, res.mount.readonly
        allowed = res.mount is None or res.mount.fs.permission(res.rel, st, creds, mode)
    if mode & W_OK and readonly and not statmod.S_ISCHR(st.mode):
        raise SyscallError(errno.EROFS)
    if not allowed:
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
    res = ctx.kernel.vfs.resolve(*ctx.at(dirfd, path), follow=False)
    if res.target is None:
        raise SyscallError(errno.EINVAL)
    data = os.fsencode(res.target)[: as_int(size)]
    ctx.write(buf, data)
    return len(data)


# -- the working directory ---------------------------------------------------

def getcwd(ctx, buf, size):
    data = os.fsencode(_as_seen_from(ctx.process.fs.root, ctx.process.fs.cwd)) + b"\0"
    if len(data) > size:
        raise SyscallError(errno.ERANGE)
    ctx.write(buf, data)
    return len(data)


def _as_seen_from(root: str, path: str) -> str:
    """A canonical path as a process chroot'ed at `root` names it (Linux's d_path)."""
    if root == "/":
        return path
    if path == root:
        return "/"
    if path.startswith(root + "/"):
        return path[len(root):]
    return "(unreachable)" + path


CAP_SYS_CHROOT = 18


def chroot(ctx, path):
    res = ctx.kernel.vfs.resolve(ctx.process.fs.cwd, ctx.path(path))
    if not statmod.S_ISDIR(res.stat.mode):
        raise SyscallError(errno.ENOTDIR)
    if not ctx.process.creds.may_execute(res.stat):
        raise SyscallError(errno.EACCES)
    if not ctx.process.creds.capable(CAP_SYS_CHROOT):
        raise SyscallError(errno.EPERM)
    ctx.process.fs.root = res.path
    ctx.kernel.fs_changed(ctx.process.fs)
    return 0


def chdir(ctx, path):
    res = ctx.kernel.vfs.resolve(ctx.process.fs.cwd, ctx.path(path))
    _enter(ctx, res.path, res.stat)
    return 0


def fchdir(ctx, fd):
    file = ctx.fds.file(as_int(fd))
    if file.kind != "dir":
        raise SyscallError(errno.ENOTDIR)
    _moved_to(ctx, file.path)
    return 0


def _enter(ctx, path: str, st: Stat) -> None:
    if not statmod.S_ISDIR(st.mode):
        raise SyscallError(errno.ENOTDIR)
    if not ctx.process.creds.may_execute(st):
        raise SyscallError(errno.EACCES)
    _moved_to(ctx, path)


def _moved_to(ctx, path: str) -> None:
    """The working directory is `path` now, for every process sharing it: the
    C fast path keys their relative stats by it (sentry/answer_cache.py)."""
    if ctx.process.fs.cwd != path:
        ctx.process.fs.cwd = path
        ctx.kernel.fs_changed(ctx.process.fs)


def umask(ctx, mask):
    old = ctx.process.fs.umask
    ctx.process.fs.umask = mask & 0o777
    return old


# -- calls that change the tree (sentry/namei.py) -----------------------------

def _vfs(ctx):
    return ctx.kernel.vfs


def mkdir(ctx, path, mode):
    return mkdirat(ctx, AT_FDCWD, path, mode)


def mkdirat(ctx, dirfd, path, mode):
    namei.mkdir(_vfs(ctx), ctx.process.creds, *ctx.at(dirfd, path),
                mode & ~ctx.process.fs.umask & 0o7777)
    return 0


def mknod(ctx, path, mode, dev):
    return mknodat(ctx, AT_FDCWD, path, mode, dev)


def mknodat(ctx, dirfd, path, mode, dev):
    mode &= 0xFFFFFFFF
    mode = statmod.S_IFMT(mode) | (mode & ~ctx.process.fs.umask & 0o7777)
    namei.mknod(_vfs(ctx), ctx.process.creds, *ctx.at(dirfd, path), mode, dev)
    return 0


def symlink(ctx, target, path):
    return symlinkat(ctx, target, AT_FDCWD, path)


def symlinkat(ctx, target, dirfd, path):
    namei.symlink(_vfs(ctx), ctx.process.creds, *ctx.at(dirfd, path),
                  ctx.path(target))
    return 0


def link(ctx, old, new):
    return linkat(ctx, AT_FDCWD, old, AT_FDCWD, new, 0)


def linkat(ctx, olddirfd, old, newdirfd, new, flags):
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise SyscallError(errno.EINVAL)
    old_s = ctx.path(old)
    if old_s == "" and flags & AT_EMPTY_PATH:
        file = ctx.fds.file(as_int(olddirfd))
        host_fd = _host_file(ctx, as_int(olddirfd), file)
        try:
            namei.link_open_file(_vfs(ctx), ctx.process.creds, file, host_fd,
                                 *ctx.at(newdirfd, new))
        finally:
            if host_fd >= 0:
                os.close(host_fd)
        return 0
    namei.link(_vfs(ctx), ctx.process.creds, ctx.base_dir(olddirfd, old_s), old_s,
               *ctx.at(newdirfd, new), follow=bool(flags & AT_SYMLINK_FOLLOW))
    return 0


def _host_file(ctx, fd: int, file: OpenFile) -> int:
    """A sentry copy of the host file behind guest `fd`: borrowed from the
    caller, or for an O_PATH fd (nothing on the host) looked up again by its
    path in its filesystem (-1 if that gives none)."""
    if not file.flags & os.O_PATH:
        return ctx.kernel.borrow_fd(ctx.task, fd)
    if file.mount is None:
        raise SyscallError(errno.EXDEV)
    found = file.mount.fs.lookup(file.rel, os.O_PATH)
    return found.fd if found.fd is not None else -1


def unlink(ctx, path):
    return unlinkat(ctx, AT_FDCWD, path, 0)


def rmdir(ctx, path):
    return unlinkat(ctx, AT_FDCWD, path, AT_REMOVEDIR)


def unlinkat(ctx, dirfd, path, flags):
    if flags & ~AT_REMOVEDIR:
        raise SyscallError(errno.EINVAL)
    remove = namei.rmdir if flags & AT_REMOVEDIR else namei.unlink
    remove(_vfs(ctx), ctx.process.creds, *ctx.at(dirfd, path))
    return 0


def rename(ctx, old, new):
    return renameat2(ctx, AT_FDCWD, old, AT_FDCWD, new, 0)


def renameat(ctx, olddirfd, old, newdirfd, new):
    return renameat2(ctx, olddirfd, old, newdirfd, new, 0)


def renameat2(ctx, olddirfd, old, newdirfd, new, flags):
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) or \
            flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == RENAME_NOREPLACE | RENAME_EXCHANGE:
        raise SyscallError(errno.EINVAL)  # RENAME_WHITEOUT is not offered
    namei.rename(_vfs(ctx), ctx.process.creds, *ctx.at(olddirfd, old),
                 *ctx.at(newdirfd, new), flags)
    return 0


# -- attributes (sentry/attrs.py) ---------------------------------------------

def _target_at(ctx, dirfd, path_addr, follow: bool, empty_ok: bool = False):
    path = ctx.path(path_addr)
    if path == "" and empty_ok:  # the *at calls with AT_EMPTY_PATH may name an O_PATH fd
        return _target_fd(ctx, as_int(dirfd), o_path_ok=True)
    return attrs.by_path(_vfs(ctx), ctx.base_dir(dirfd, path), path, follow)


def _target_fd(ctx, fd: int, o_path_ok: bool = False):
    file = ctx.fds.file(fd)
    if file.flags & os.O_PATH and not o_path_ok:
        raise SyscallError(errno.EBADF)  # fchmod, fchown, futimens... need a real open
    return attrs.by_file(file, _stat_fd(ctx, fd), ctx.kernel.vfs)


def chmod(ctx, path, mode):
    return fchmodat(ctx, AT_FDCWD, path, mode)


def fchmodat(ctx, dirfd, path, mode):
    attrs.chmod(ctx.process.creds, _target_at(ctx, dirfd, path, follow=True), mode)
    return 0


def fchmod(ctx, fd, mode):
    target = _target_fd(ctx, as_int(fd))
    if target is NATIVE:
        return NATIVE
    attrs.chmod(ctx.process.creds, target, mode)
    return 0


def chown(ctx, path, uid, gid):
    return fchownat(ctx, AT_FDCWD, path, uid, gid, 0)


def lchown(ctx, path, uid, gid):
    return fchownat(ctx, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW)


def fchownat(ctx, dirfd, path, uid, gid, flags):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(errno.EINVAL)
    target = _target_at(ctx, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW,
                        empty_ok=bool(flags & AT_EMPTY_PATH))
    if target is NATIVE:  # "" on an anonymous host object: done here, never by the kernel
        with _borrowed(ctx, dirfd) as (host_fd, stat):
            attrs.chown_anonymous(ctx.process.creds, host_fd, stat, as_int(uid), as_int(gid))
        return 0
    attrs.chown(ctx.process.creds, target, as_int(uid), as_int(gid))
    return 0


@contextlib.contextmanager
def _borrowed(ctx, fd):
    """The sentry's own copy of the host fd behind `fd`, and its attributes."""
    stat = _stat_fd(ctx, as_int(fd))
    host_fd = ctx.kernel.borrow_fd(ctx.task, as_int(fd))
    try:
        yield host_fd, stat
    finally:
        os.close(host_fd)


def fchown(ctx, fd, uid, gid):
    target = _target_fd(ctx, as_int(fd))
    if target is NATIVE:
        return NATIVE
    attrs.chown(ctx.process.creds, target, as_int(uid), as_int(gid))
    return 0


def truncate(ctx, path, length):
    target = attrs.by_path(_vfs(ctx), ctx.process.fs.cwd, ctx.path(path), follow=True)
    attrs.truncate(ctx.process.creds, target, as_long(length))
    return 0


def utimensat(ctx, dirfd, path, times, flags):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(errno.EINVAL)
    values = None
    if times:
        raw = struct.unpack("<qqqq", ctx.read(times, 32))
        values = ((raw[0], raw[1]), (raw[2], raw[3]))
    if path == 0:  # futimens(fd): the file behind dirfd
        return _utimes_open(ctx, as_int(dirfd), values)
    else:
        target = _target_at(ctx, dirfd, path, follow=not flags & AT_SYMLINK_NOFOLLOW,
                            empty_ok=bool(flags & AT_EMPTY_PATH))
    return _utimes(ctx, dirfd, target, values)


def _utimes(ctx, fd, target, values) -> int:
    """Set the times; an anonymous host object's on the sentry's own copy of
    the fd, since the kernel would re-read the path and the times."""
    if target is NATIVE:
        with _borrowed(ctx, fd) as (host_fd, stat):
            attrs.utimes_anonymous(ctx.process.creds, host_fd, stat, values)
        return 0
    attrs.utimes(ctx.process.creds, target, values)
    return 0


def _utimes_open(ctx, fd: int, values) -> int:
    """futimens(fd): an open file's times. A file whose last name is gone is
    reached through the host inode the workload's fd holds: a host file
    has no path left (and its old name may be another file's); a tmpfs
    file has let go of its inode (node.data_fd), whose times stat still
    reads beside the node's."""
    target = _target_fd(ctx, fd)
    unnamed = target is not NATIVE and target.stat.nlink == 0 and statmod.S_ISREG(target.stat.mode)
    if not unnamed:
        return _utimes(ctx, fd, target, values)
    if target.node is not None:
        attrs.utimes(ctx.process.creds, target, values)
    with _borrowed(ctx, fd) as (host_fd, stat):
        attrs.utimes_anonymous(ctx.process.creds, host_fd, stat, values)
    return 0


def futimesat(ctx, dirfd, path, times):
    values = None
    if times:
        sec_a, usec_a, sec_m, usec_m = struct.unpack("<qqqq", ctx.read(times, 32))
        if not (0 <= usec_a < 10**6 and 0 <= usec_m < 10**6):
            raise SyscallError(errno.EINVAL)
        values = ((sec_a, usec_a * 1000), (sec_m, usec_m * 1000))
    if not path:
        return _utimes_open(ctx, as_int(dirfd), values)
    return _utimes(ctx, dirfd, _target_at(ctx, dirfd, path, follow=True), values)


def utimes(ctx, path, times):
    return futimesat(ctx, AT_FDCWD, path, times)


def utime(ctx, path, times):
    values = None
    if times:
        atime, mtime = struct.unpack("<qq", ctx.read(times, 16))
        values = ((atime, 0), (mtime, 0))
    target = attrs.by_path(_vfs(ctx), ctx.process.fs.cwd, ctx.path(path), follow=True)
    attrs.utimes(ctx.process.creds, target, values)
    return 0


# -- statfs ---------------------------------------------------------------------

STATFS = struct.Struct("<qqQQQQQiiqqqqqqq")  # struct statfs on x86_64 (120 bytes)
ST_RDONLY, ST_NOSUID, ST_NODEV, ST_NOEXEC = 1, 2, 4, 8


def _pack_statfs(mount) -> bytes:
    fs = mount.fs.statfs()
    flags = (ST_RDONLY if mount.readonly else 0) | (ST_NOSUID if "nosuid" in mount.options else 0) \
        | (ST_NODEV if "nodev" in mount.options else 0) | (ST_NOEXEC if "noexec" in mount.options else 0)
    return STATFS.pack(fs.type, fs.bsize, fs.blocks, fs.bfree, fs.bavail, fs.files, fs.ffree,
                       mount.dev, 0, fs.namelen, fs.bsize, flags | fs.flags, 0, 0, 0, 0)


def statfs(ctx, path, buf):
    res = _vfs(ctx).resolve(ctx.process.fs.cwd, ctx.path(path))
    ctx.write(buf, _pack_statfs(res.mount))
    return 0


def fstatfs(ctx, fd, buf):
    file = ctx.fds.file(as_int(fd))
    if file.mount is None:
        return NATIVE  # pipes, memfds, sockets: anonymous host filesystems
    ctx.write(buf, _pack_statfs(file.mount))
    return 0


# -- extended attributes ------------------------------------------------------------

def _xattr_name(ctx, addr) -> str:
    """A name as Linux's setxattr/getxattr copies it: empty or longer than
    XATTR_NAME_MAX (255) is ERANGE."""
    try:
        name = ctx.cstring(addr, 256)
    except SyscallError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        raise SyscallError(errno.ERANGE) from None
    if not name or len(name) > 255:
        raise SyscallError(errno.ERANGE)
    return os.fsdecode(name)


def _xattr_target(ctx, path, follow: bool):
    return attrs.by_path(_vfs(ctx), ctx.process.fs.cwd, ctx.path(path), follow)


def _xattr_fd_target(ctx, fd):
    target = _target_fd(ctx, as_int(fd))
    if target is NATIVE:
        raise SyscallError(errno.ENOTSUP)
    return target


def _answer_sized(ctx, data: bytes, buf, size) -> int:
    """getxattr/listxattr's contract: size 0 asks the size; too small is ERANGE."""
    if size == 0:
        return len(data)
    if len(data) > size:
        raise SyscallError(errno.ERANGE)
    ctx.write(buf, data)
    return len(data)


def _set(ctx, target, name, value, size, flags) -> int:
    if size > attrs.XATTR_SIZE_MAX:
        raise SyscallError(errno.E2BIG)
    attrs.setxattr(ctx.process.creds, target, _xattr_name(ctx, name),
                   ctx.read(value, size) if size else b"", as_int(flags))
    return 0


def setxattr(ctx, path, name, value, size, flags):
    return _set(ctx, _xattr_target(ctx, path, True), name, value, size, flags)


def lsetxattr(ctx, path, name, value, size, flags):
    return _set(ctx, _xattr_target(ctx, path, False), name, value, size, flags)


def fsetxattr(ctx, fd, name, value, size, flags):
    return _set(ctx, _xattr_fd_target(ctx, fd), name, value, size, flags)


def _get(ctx, target, name, buf, size) -> int:
    creds = ctx.process.creds
    return _answer_sized(ctx, attrs.getxattr(creds, target, _xattr_name(ctx, name)), buf, size)


def _list(ctx, target, buf, size) -> int:
    return _answer_sized(ctx, attrs.listxattr(ctx.process.creds, target), buf, size)


def getxattr(ctx, path, name, buf, size):
    return _get(ctx, _xattr_target(ctx, path, True), name, buf, size)


def lgetxattr(ctx, path, name, buf, size):
    return _get(ctx, _xattr_target(ctx, path, False), name, buf, size)


def fgetxattr(ctx, fd, name, buf, size):
    return _get(ctx, _xattr_fd_target(ctx, fd), name, buf, size)


def listxattr(ctx, path, buf, size):
    return _list(ctx, _xattr_target(ctx, path, True), buf, size)


def llistxattr(ctx, path, buf, size):
    return _list(ctx, _xattr_target(ctx, path, False), buf, size)


def flistxattr(ctx, fd, buf, size):
    return _list(ctx, _xattr_fd_target(ctx, fd), buf, size)


def removexattr(ctx, path, name):
    attrs.removexattr(ctx.process.creds, _xattr_target(ctx, path, True), _xattr_name(ctx, name))
    return 0


def lremovexattr(ctx, path, name):
    attrs.removexattr(ctx.process.creds, _xattr_target(ctx, path, False), _xattr_name(ctx, name))
    return 0


def fremovexattr(ctx, fd, name):
    attrs.removexattr(ctx.process.creds, _xattr_fd_target(ctx, fd), _xattr_name(ctx, name))
    return 0


# -- inotify (sentry/inotify.py) ------------------------------------------------------

def inotify_init(ctx):
    return inotify_init1(ctx, 0)


def inotify_init1(ctx, flags):
    if flags & ~(os.O_NONBLOCK | os.O_CLOEXEC):
        raise SyscallError(errno.EINVAL)
    instance, read_fd = ctx.kernel.vfs.inotify.new()
    if flags & os.O_NONBLOCK:
        os.set_blocking(read_fd, False)
    from runsc_py.syscalls.file import install_new

    file = OpenFile("inotify", path="anon_inode:inotify", flags=flags, node=instance)
    return install_new(ctx, file, read_fd, bool(flags & os.O_CLOEXEC))


def _instance(ctx, fd):
    file = ctx.fds.file(as_int(fd))
    if file.kind != "inotify":
        raise SyscallError(errno.EINVAL)
    return file.node


def inotify_add_watch(ctx, fd, path, mask):
    instance = _instance(ctx, fd)
    mask &= 0xFFFFFFFF
    if not mask & inotify.IN_ALL_EVENTS or \
            mask & inotify.IN_MASK_CREATE and mask & inotify.IN_MASK_ADD:
        raise SyscallError(errno.EINVAL)
    res = ctx.kernel.vfs.resolve(ctx.process.fs.cwd, ctx.path(path),
                                 follow=not mask & inotify.IN_DONT_FOLLOW)
    if mask & inotify.IN_ONLYDIR and not statmod.S_ISDIR(res.stat.mode):
        raise SyscallError(errno.ENOTDIR)
    if not ctx.process.creds.may_access(res.stat, R_OK):
        raise SyscallError(errno.EACCES)
    try:
        return ctx.kernel.vfs.inotify.add_watch(instance, (res.mount.mount_id, res.rel), mask)
    except FileExistsError:
        raise SyscallError(errno.EEXIST) from None


def inotify_rm_watch(ctx, fd, wd):
    if not ctx.kernel.vfs.inotify.remove_watch(_instance(ctx, fd), as_int(wd)):
        raise SyscallError(errno.EINVAL)
    return 0
