"""Syscalls on file descriptors: open, close, dup, fcntl, pipe, ioctl, getdents64.

The table changes here; the bytes never pass through the sentry.
"""
from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import struct

from runsc_py.platform import HELD, NATIVE, FdInstall, InstallFds
from runsc_py.sentry import fifos, files, locks, sessions, signalfd_reads
from runsc_py.sentry.credentials import Credentials
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import OpenFile
from runsc_py.sentry.vfs import Scope
from runsc_py.syscalls.context import AT_FDCWD, SyscallContext, as_int
from runsc_py.syscalls.pointers import CONFINED, DATA

F_DUPFD, F_GETFD, F_SETFD, F_GETFL = 0, 1, 2, 3
F_DUPFD_CLOEXEC = 1030
FD_CLOEXEC = 1
CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC = 2, 4
# record locks and leases: the sentry's on host-backed files (sentry/locks.py)
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_SETLEASE, F_GETLEASE = 1024, 1025
F_NOTIFY, F_GETSIG = 1026, 11
LOCK_FCNTLS = {F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
               F_SETLEASE, F_GETLEASE}
# fcntl commands the host may run on the installed fd: status flags,
# owners, pipe size, seals, and the locks and leases of the sandbox's own
# objects (a tmpfs file, a pipe; LOCK_FCNTLS decide which). The value is
# what the kernel reads at `arg` (syscalls/table.py's classes).
NATIVE_FCNTLS = {
    0: None, 1030: None, 2: None,      # F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD (the table kept in step)
    3: None, 4: None,                  # F_GETFL, F_SETFL
    8: None, 9: None, 10: None, 11: None,  # F_SETOWN, F_GETOWN (pids in the registers), F_SETSIG, F_GETSIG
    15: CONFINED,                      # F_SETOWN_EX: a tid/pid/pgrp of the sandbox's pid namespace
    16: DATA,                          # F_GETOWN_EX
    1031: None, 1032: None, 1033: None, 1034: None,  # pipe size, seals
    **dict.fromkeys((F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW),
                    DATA),             # a range of the fd's own file
    F_SETLEASE: None, F_GETLEASE: None,
}
LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN, LOCK_MAND = 1, 2, 4, 8, 32
FLOCK_TYPES = {LOCK_SH: locks.F_RDLCK, LOCK_EX: locks.F_WRLCK, LOCK_UN: locks.F_UNLCK}
STRUCT_FLOCK = struct.Struct("<hh4xqqi4x")   # l_type, l_whence, l_start, l_len, l_pid
CAP_LEASE = 28
# ioctls a terminal or pipe answers itself; the caller's stdio may be a tty.
NATIVE_IOCTLS = {
    0x5401: DATA, 0x5402: DATA, 0x5403: DATA, 0x5404: DATA,  # TCGETS, TCSETS, TCSETSW, TCSETSF
    0x802C542A: DATA, 0x402C542B: DATA,  # TCGETS2, TCSETS2 (struct termios2: custom speeds)
    0x402C542C: DATA, 0x402C542D: DATA,  # TCSETSW2, TCSETSF2
    0x5405: DATA, 0x5406: DATA, 0x5407: DATA, 0x5408: DATA,  # TCGETA, TCSETA, TCSETAW, TCSETAF
    0x540B: None,                      # TCFLSH
    0x540F: DATA,                      # TIOCGPGRP
    0x5410: CONFINED,                  # TIOCSPGRP: a group of the caller's session (the kernel checks)
    0x5413: DATA, 0x5414: DATA,        # TIOCGWINSZ, TIOCSWINSZ
    0x541B: DATA, 0x5421: DATA, 0x5452: DATA,  # FIONREAD, FIONBIO, FIOASYNC
    0x40045431: DATA,                  # TIOCSPTLCK (unlockpt) on a /dev/ptmx master
    0x80045439: DATA, 0x5420: DATA, 0x80045438: DATA,  # TIOCGPTLCK, TIOCPKT, TIOCGPKT
    0x5409: None, 0x5425: None, 0x540A: None,  # TCSBRK, TCSBRKP, TCXONC
    0x5411: DATA, 0x5424: DATA,        # TIOCOUTQ, TIOCGETD
    # Sessions: the sandbox's sessions and process groups are the host's,
    # numbered by the sandbox's pid namespace, so the tty layer does the rest
    # (SIGHUP to the foreground group when its session leader exits, SIGTTOU...).
    0x5422: None, 0x5429: DATA,        # TIOCNOTTY, TIOCGSID
    0x5450: None, 0x5451: None,        # FIONCLEX, FIOCLEX (the table keeps the flag too)
    0x540E: None,                      # TIOCSCTTY (arg is a register; a steal is checked)
}
# Any socket's owner for SIGIO/SIGURG (sock_ioctl's f_setown/f_getown): a pid or
# process group of the sandbox's namespace, as fcntl's F_SETOWN takes it.
SOCKET_OWNER_IOCTLS = {0x8901: CONFINED, 0x8902: CONFINED,   # FIOSETOWN, SIOCSPGRP
                       0x8903: DATA, 0x8904: DATA}           # FIOGETOWN, SIOCGPGRP
# --network=host: the interface getters run on the host socket (sentry/net/ifreq.py's
# GETTERS); the name in the ifreq is one of the host's, which that mode shows.
HOST_NETWORK_IOCTLS = dict.fromkeys((0x8910, 0x8912, 0x8913, 0x8915, 0x8919, 0x891B, 0x8921,
                                     0x8927, 0x8933, 0x8942), CONFINED)
TIOCSCTTY, TIOCGPTN, TIOCGPTPEER, FIONREAD = 0x540E, 0x80045430, 0x5441, 0x541B
MQ_ATTR_SIZE = 64   # struct mq_attr
CAP_SYS_ADMIN = 21
FIONCLEX, FIOCLEX = 0x5450, 0x5451
DIRENT = struct.Struct("<QqHB")          # linux_dirent64, before d_name
LINUX_DIRENT = struct.Struct("<QqH")     # linux_dirent (getdents), before d_name


def install_new(ctx: SyscallContext, file: OpenFile, host_fd: int | None, cloexec: bool,
                start: int = 0) -> InstallFds | int:
    """Give the caller `host_fd` at its lowest free guest fd >= start (None: an
    O_PATH file, entered in the table only, its host slot left empty)."""
    try:
        fd = ctx.fds.lowest_free(start)
    except SyscallError:
        if host_fd is not None:
            os.close(host_fd)
        raise
    ctx.fds.install(fd, file, cloexec, backed=host_fd is not None)
    if host_fd is None:
        return fd
    return InstallFds(fd, [FdInstall(host_fd, fd, cloexec)])


def open(ctx, path, flags, mode):  # noqa: A001 - named after the syscall
    return openat(ctx, AT_FDCWD, path, flags, mode)


def creat(ctx, path, mode):
    return openat(ctx, AT_FDCWD, path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)


def openat(ctx, dirfd, path, flags, mode):
    flags = as_int(flags)
    proc = ctx.process
    path = ctx.path(path)
    if not path:  # an empty name is refused before the dirfd is looked at
        raise SyscallError(errno.ENOENT)
    base = ctx.base_dir(dirfd, path)

    def attempt():
        file, host_fd = files.open_path(ctx.kernel.vfs, proc.creds, proc.fs.umask, base,
                                        path, flags, mode)
        if path.startswith("/") and host_fd is not None:  # the C fast path may replay this open
            ctx.kernel.answer_cache.offer_open(proc, path, flags, file, host_fd)
        return _maybe_controlling(ctx, file, host_fd, flags,
                                  install_new(ctx, file, host_fd, bool(flags & os.O_CLOEXEC)))
    return _open_or_park(ctx, attempt)


def _open_or_park(ctx, attempt):
    """attempt()'s answer; for a FIFO that must wait for a partner, the call
    parked, and attempt() made again once the FIFO has one (sentry/fifos.py)."""
    try:
        return attempt()
    except fifos.MustWait as wait:
        kernel = ctx.kernel

        def again():
            kernel.answering(ctx.task)
            return kernel.run_handler("open", lambda: _open_or_park(ctx, attempt))
        return kernel.fifo_opens.park(ctx.call, wait, again)


def _maybe_controlling(ctx, file: OpenFile, host_fd: int, flags: int, result: InstallFds) -> InstallFds:
    """An open of a terminal may make it the caller's controlling one (sessions.py)."""
    if file.kind == "device":
        result.then = sessions.controlling_terminal_call(ctx.kernel.tasks, ctx.task, host_fd,
                                                         result.value, flags)
    return result


RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS = 0x01, 0x02, 0x04
RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_CACHED = 0x08, 0x10, 0x20
OPEN_HOW = struct.Struct("<QQQ")
# every flag open(2) knows: openat2 refuses any other bit, where open ignores it
VALID_OPEN_FLAGS = (os.O_ACCMODE | os.O_CREAT | os.O_EXCL | os.O_NOCTTY | os.O_TRUNC | os.O_APPEND
                    | os.O_NONBLOCK | os.O_DSYNC | 0o20000 | os.O_DIRECT | os.O_LARGEFILE
                    | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NOATIME | os.O_CLOEXEC | os.O_PATH
                    | os.O_TMPFILE | os.O_SYNC)


def openat2(ctx, dirfd, path, how, size):
    """openat(2) with openat2's strict flags and RESOLVE_* rules (sentry/vfs.py's Scope)."""
    if size < OPEN_HOW.size:
        raise SyscallError(errno.EINVAL)
    if size > 4096:
        raise SyscallError(errno.E2BIG)
    raw = ctx.read(how, size)
    if any(raw[OPEN_HOW.size:]):
        raise SyscallError(errno.E2BIG)  # a newer struct with fields we do not know set
    flags, mode, resolve = OPEN_HOW.unpack_from(raw)
    if flags & ~VALID_OPEN_FLAGS or mode & ~0o7777 or resolve & ~0x3F:
        raise SyscallError(errno.EINVAL)
    if mode and not flags & os.O_CREAT and flags & os.O_TMPFILE != os.O_TMPFILE:
        raise SyscallError(errno.EINVAL)
    if flags & os.O_PATH and flags & ~files.O_PATH_FLAGS:
        raise SyscallError(errno.EINVAL)
    if resolve & RESOLVE_BENEATH and resolve & RESOLVE_IN_ROOT:
        raise SyscallError(errno.EINVAL)
    if resolve & RESOLVE_CACHED and flags & (os.O_CREAT | os.O_TRUNC | os.O_TMPFILE):
        raise SyscallError(errno.EAGAIN)
    path = ctx.path(path)
    if not path:  # an empty name is refused before the dirfd is looked at
        raise SyscallError(errno.ENOENT)
    base = ctx.base_dir(dirfd)
    fenced = resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)
    scope = Scope(root=tuple(n for n in base.split("/") if n) if fenced else None,
                  in_root=bool(resolve & RESOLVE_IN_ROOT),
                  no_symlinks=bool(resolve & RESOLVE_NO_SYMLINKS),
                  no_magiclinks=bool(resolve & RESOLVE_NO_MAGICLINKS),
                  no_xdev=bool(resolve & RESOLVE_NO_XDEV))
    proc = ctx.process

    def attempt():
        file, host_fd = files.open_path(ctx.kernel.vfs, proc.creds, proc.fs.umask, base, path,
                                        flags, mode, scope)
        return _maybe_controlling(ctx, file, host_fd, flags,
                                  install_new(ctx, file, host_fd, bool(flags & os.O_CLOEXEC)))
    return _open_or_park(ctx, attempt)


def close(ctx, fd):
    _know_lock_key(ctx, as_int(fd))
    entry = ctx.fds.close(as_int(fd), ctx.task.host_tid)
    ctx.kernel.descriptions_released([entry.file], ctx.process)
    if entry.file.kind == "inotify":
        ctx.kernel.vfs.inotify.closing(ctx.task.host_tid)
    if entry.file.kind == "socket" and ctx.kernel.network is not None:
        ctx.kernel.network.closing(ctx, as_int(fd), entry.file.sock)
    ctx.kernel.release_writebacks()
    return NATIVE if entry.backed else 0  # an unbacked (O_PATH) fd: nothing on the host


def close_range(ctx, first, last, flags):
    if first > last or flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC):
        raise SyscallError(errno.EINVAL)
    # CLOSE_RANGE_UNSHARE: the host unshares the caller's table; the sentry
    # keeps one table per process, which the closes below keep exact.
    released = []
    for fd in sorted(fd for fd in ctx.fds.entries if first <= fd <= last):
        if flags & CLOSE_RANGE_CLOEXEC:
            ctx.fds.entries[fd].cloexec = True
        else:
            _know_lock_key(ctx, fd)
            entry = ctx.fds.close(fd, ctx.task.host_tid)
            released.append(entry.file)
            if entry.file.kind == "inotify":
                ctx.kernel.vfs.inotify.closing(ctx.task.host_tid)
            if entry.file.kind == "socket" and ctx.kernel.network is not None:
                ctx.kernel.network.closing(ctx, fd, entry.file.sock)
    ctx.kernel.descriptions_released(released, ctx.process)
    ctx.kernel.release_writebacks()
    return NATIVE


def dup(ctx, oldfd):
    return _dup_to(ctx, as_int(oldfd), None, cloexec=False)


def dup2(ctx, oldfd, newfd):
    oldfd, newfd = as_int(oldfd), as_int(newfd)
    if oldfd == newfd:
        ctx.fds.get(oldfd)
        return newfd
    return _dup_to(ctx, oldfd, newfd, cloexec=False)


def dup3(ctx, oldfd, newfd, flags):
    oldfd, newfd = as_int(oldfd), as_int(newfd)
    if oldfd == newfd or flags & ~os.O_CLOEXEC:
        raise SyscallError(errno.EINVAL)
    return _dup_to(ctx, oldfd, newfd, cloexec=bool(flags & os.O_CLOEXEC))


def _dup_to(ctx, oldfd: int, newfd: int | None, cloexec: bool, start: int = 0) -> InstallFds | int:
    entry = ctx.fds.get(oldfd)
    if newfd is not None and not 0 <= newfd < ctx.fds.limit:
        raise SyscallError(errno.EBADF)
    if entry.file.flags & os.O_PATH:
        return _dup_o_path(ctx, entry.file, newfd, cloexec, start)
    if entry.file.kind != "signalfd" and ctx.kernel.host_numbers_follow_table(ctx.task):
        _install_copy(ctx, entry.file, ctx.fds.lowest_free(start) if newfd is None else newfd,
                      cloexec)
        return NATIVE   # the host's own dup gives the same number: no copy to install
    host_fd = ctx.kernel.borrow_fd(ctx.task, oldfd)
    if newfd is None:
        result = install_new(ctx, entry.file, host_fd, cloexec, start)
    else:
        _install_copy(ctx, entry.file, newfd, cloexec)
        result = InstallFds(newfd, [FdInstall(host_fd, newfd, cloexec)])
    if entry.file.kind == "signalfd":   # a copy's reads are traced too
        result = signalfd_reads.trace_reads(ctx.process, result)
    return result


def _install_copy(ctx, file: OpenFile, fd: int, cloexec: bool) -> None:
    """Enter `file` at `fd` in the table, releasing what was there (dup2 closes it)."""
    replaced = ctx.fds.entries.get(fd)
    if replaced is not None:
        _know_lock_key(ctx, fd)
    ctx.fds.install(fd, file, cloexec)
    if replaced is not None:
        ctx.kernel.descriptions_released([replaced.file], ctx.process)
        if replaced.file.kind == "inotify":
            ctx.kernel.vfs.inotify.closing(ctx.task.host_tid)


def _dup_o_path(ctx, file: OpenFile, newfd: int | None, cloexec: bool, start: int):
    """A copy of an O_PATH fd: unbacked like the original, unless it must replace
    a file the host holds at `newfd` (see files.o_path_stand_in)."""
    if newfd is None:
        return install_new(ctx, file, None, cloexec, start)
    there = ctx.fds.entries.get(newfd)
    if there is None or not there.backed:
        ctx.fds.install(newfd, file, cloexec, backed=False)
        return newfd
    ctx.fds.install(newfd, file, cloexec)
    return InstallFds(newfd, [FdInstall(files.o_path_stand_in(), newfd, cloexec)])


# what fcntl does on an O_PATH fd (fs/fcntl.c's check_fcntl_cmd); the rest is EBADF
O_PATH_FCNTLS = {F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL}


def fcntl(ctx, fd, cmd, arg):
    fd, cmd = as_int(fd), as_int(cmd)
    entry = ctx.fds.get(fd)
    if entry.file.flags & os.O_PATH:
        if cmd not in O_PATH_FCNTLS:
            raise SyscallError(errno.EBADF)
        if cmd == F_GETFL:
            return entry.file.flags & files.O_PATH_STATUS
        if cmd == F_SETFD and not entry.backed:
            entry.cloexec = bool(arg & FD_CLOEXEC)
            return 0
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        return _dup_to(ctx, fd, None, cmd == F_DUPFD_CLOEXEC, start=as_int(arg))
    if cmd == F_GETFD:
        return FD_CLOEXEC if entry.cloexec else 0
    if cmd == F_SETFD:
        entry.cloexec = bool(arg & FD_CLOEXEC)
        return NATIVE  # the host flag decides what exec closes
    if cmd in LOCK_FCNTLS:
        key = lock_key(ctx, fd, entry.file)
        if key is None:   # the sandbox's own object: the host's locks are the sandbox's
            return NATIVE
        if cmd in (F_SETLEASE, F_GETLEASE):
            return _lease(ctx, fd, entry.file, cmd, as_int(arg))
        return _record_lock(ctx, fd, entry.file, key, cmd, arg)
    if cmd in NATIVE_FCNTLS:
        return NATIVE
    if cmd == F_NOTIFY:
        return _notify(ctx, fd, entry.file, as_int(arg) & 0xFFFFFFFF)
    raise SyscallError(errno.EINVAL)


def _notify(ctx, fd: int, file, arg: int) -> int:
    """F_NOTIFY (sentry/dnotify.py): no event in `arg` ends the description's
    registration (on any file); otherwise it must be a directory."""
    from runsc_py.sentry import dnotify

    if arg & ~dnotify.DN_MULTISHOT and (file.kind != "dir" or file.mount is None):
        raise SyscallError(errno.ENOTDIR)
    signum = 0
    if arg & ~dnotify.DN_MULTISHOT:
        import fcntl as host_fcntl   # (this module's own fcntl is the call's handler)

        host_fd = ctx.kernel.borrow_fd(ctx.task, fd)
        try:   # F_SETSIG is native: the host description keeps it
            signum = host_fcntl.fcntl(host_fd, F_GETSIG)
        finally:
            os.close(host_fd)
    dnotify.notify(ctx.kernel, ctx.process, file, arg, signum)
    return 0


def flock(ctx, fd, cmd):
    cmd &= 0xFFFFFFFF
    if cmd & LOCK_MAND:   # gone from Linux: accepted and ignored
        return 0
    type_ = FLOCK_TYPES.get(cmd & ~LOCK_NB)
    if type_ is None:
        raise SyscallError(errno.EINVAL)
    fd = as_int(fd)
    file = ctx.fds.file(fd)
    if file.flags & os.O_PATH or (type_ != locks.F_UNLCK
                                  and file.flags & files.ACCESS_MODE == files.ACCESS_MODE):
        raise SyscallError(errno.EBADF)
    key = lock_key(ctx, fd, file)
    if key is None:
        return NATIVE
    table = ctx.kernel.locks
    if cmd & LOCK_NB:
        return table.flock(key, file, type_)
    waiter = locks.Waiter(key, flock=True, file=file, type_=type_, tid=ctx.task.host_tid)
    return _lock_or_park(ctx, waiter, lambda: table.flock(key, file, type_, waiter))


def _record_lock(ctx, fd: int, file: OpenFile, key, cmd: int, addr: int):
    """F_GETLK/F_SETLK/F_SETLKW and their OFD twins (fs/locks.c's fcntl_getlk/setlk)."""
    l_type, whence, l_start, l_len, l_pid = STRUCT_FLOCK.unpack(ctx.read(addr, STRUCT_FLOCK.size))
    ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    owner = file if ofd else ctx.fds
    getting = cmd in (F_GETLK, F_OFD_GETLK)
    if getting and l_type not in (locks.F_RDLCK, locks.F_WRLCK):
        raise SyscallError(errno.EINVAL)
    start, end = locks.range_of(l_type, whence, l_start, l_len,
                                lambda: _host_offset(ctx, fd), lambda: _host_size(ctx, fd))
    access = file.flags & files.ACCESS_MODE
    if not getting and (l_type == locks.F_RDLCK and access not in (os.O_RDONLY, os.O_RDWR)
                        or l_type == locks.F_WRLCK and access not in (os.O_WRONLY, os.O_RDWR)):
        raise SyscallError(errno.EBADF)
    if ofd and l_pid != 0:
        raise SyscallError(errno.EINVAL)
    request = locks.RangeLock(owner, ofd, l_type, start, end, ctx.process.vpid)
    table = ctx.kernel.locks
    if getting:
        found = table.test(key, request)
        if found is None:
            ctx.write(addr, struct.pack("<h", locks.F_UNLCK))
        else:
            length = 0 if found.end == locks.OFFSET_MAX else found.end - found.start + 1
            ctx.write(addr, STRUCT_FLOCK.pack(found.type, os.SEEK_SET, found.start, length,
                                              -1 if found.ofd else found.pid))
        return 0
    if cmd in (F_SETLK, F_OFD_SETLK):
        return table.set(key, request)
    waiter = locks.Waiter(key, flock=False, request=request, tid=ctx.task.host_tid)
    return _lock_or_park(ctx, waiter, lambda: table.set(key, request, waiter))


def _lease(ctx, fd: int, file: OpenFile, cmd: int, arg: int):
    """Leases on a host file: a lease would make host processes wait for the
    sandbox (their open blocks until it is broken), so none is ever granted:
    F_SETLEASE answers as Linux does when the file is open elsewhere (EAGAIN),
    after its own checks (EINVAL, EACCES for a non-owner without CAP_LEASE)."""
    if cmd == F_GETLEASE:
        return locks.F_UNLCK
    if arg not in (locks.F_RDLCK, locks.F_WRLCK, locks.F_UNLCK):
        raise SyscallError(errno.EINVAL)
    st = _host_stat(ctx, fd)
    creds = ctx.process.creds
    if st.st_uid != creds.fsuid and not creds.capable(CAP_LEASE):
        raise SyscallError(errno.EACCES)
    if not stat.S_ISREG(st.st_mode):
        raise SyscallError(errno.EINVAL)
    raise SyscallError(errno.EAGAIN)


def _lock_or_park(ctx, waiter, attempt):
    """Take a lock now, or park the call until a release lets it through; a
    signal interrupts the wait as wait_event_interruptible does (-ERESTARTSYS:
    EINTR, or the call made again under SA_RESTART)."""
    kernel, call = ctx.kernel, ctx.call

    def granted(result: int) -> None:
        kernel.interrupts.forget(call)
        kernel.platform.complete(call, result)

    waiter.granted = granted
    if attempt() is not None:
        return 0
    kernel.interrupts.watch(call, lambda: kernel.locks.cancel(waiter))
    return HELD


def lock_key(ctx, fd: int, file: OpenFile):
    """The file's key in the sentry's lock table, or None when its locks stay
    native (sentry/locks.py's key_of); asked of the host once per description."""
    if file.lock_key is None:
        file.lock_key = False
        if file.kind == "dir" and file.mount is not None:
            # what a directory fd holds on the host is no directory of the tree
            # (one object stands for many): the sentry's own identity of it
            st = file.mount.fs.stat_node(file.node) if file.node is not None else None
            if st is None:
                st = ctx.kernel.vfs.resolve("/", file.path, follow=True).stat
            file.lock_key = locks.dir_key(file.mount.dev, st.ino)
        elif file.kind in ("file", "device", "host"):
            key = locks.key_of(_host_stat(ctx, fd))
            if key is not None:
                file.lock_key = key
    return file.lock_key or None


def _know_lock_key(ctx, fd: int) -> None:
    """Before fd closes: a process holding POSIX locks loses those on its file,
    whichever fd of the file it closes, so the file must be known by then."""
    entry = ctx.fds.entries.get(fd)
    if entry is not None and entry.file.lock_key is None and entry.backed \
            and ctx.kernel.locks.holds_posix(ctx.fds):
        with contextlib.suppress(OSError, SyscallError):
            lock_key(ctx, fd, entry.file)


def _host_stat(ctx, fd: int) -> os.stat_result:
    host = ctx.kernel.borrow_fd(ctx.task, fd)
    try:
        return os.fstat(host)
    finally:
        os.close(host)


def _host_offset(ctx, fd: int) -> int:
    host = ctx.kernel.borrow_fd(ctx.task, fd)
    try:
        return os.lseek(host, 0, os.SEEK_CUR)
    finally:
        os.close(host)


def _host_size(ctx, fd: int) -> int:
    return _host_stat(ctx, fd).st_size


def ioctl(ctx, fd, request, arg):
    entry = ctx.fds.get(as_int(fd))
    if entry.file.flags & os.O_PATH:  # no ioctl reaches an O_PATH file, not even FIOCLEX
        raise SyscallError(errno.EBADF)
    request &= 0xFFFFFFFF
    if request in (FIOCLEX, FIONCLEX):
        entry.cloexec = request == FIOCLEX
        return NATIVE
    if request in NATIVE_IOCTLS and entry.file.kind in ("host", "pipe", "device", "file", "socket"):
        return NATIVE
    if request == FIONREAD and entry.file.kind == "inotify":
        ctx.kernel.vfs.inotify.drain()   # the host's events queued first, then the pipe's count
        return NATIVE
    if request == TIOCGPTPEER and entry.file.kind == "device":
        return _tiocgptpeer(ctx, as_int(fd), as_int(arg))
    if request == TIOCSCTTY and entry.file.kind in ("host", "device"):
        return _tiocsctty(ctx, entry, as_int(arg))
    if request == TIOCGPTN and entry.file.kind in ("host", "device"):
        return _tiocgptn(ctx, as_int(fd), arg)
    if entry.file.kind == "socket":
        if request in SOCKET_OWNER_IOCTLS:
            return NATIVE
        return _interface_ioctl(ctx, entry, request, arg)
    raise SyscallError(errno.ENOTTY)


def _tiocsctty(ctx, entry, arg: int):
    """Make a terminal the caller's controlling tty: native, but for a steal.

    With arg 1 Linux takes the terminal from another session if the caller
    has CAP_SYS_ADMIN. The host would judge that by the host thread's
    capabilities, and the terminal may be the one runsc-py was started on,
    whose session is outside the sandbox: so a steal is let through only
    for a sandbox pty and a caller holding the sandbox's CAP_SYS_ADMIN.
    Otherwise arg 1 gets EPERM (Linux's answer to a steal without it).
    """
    if arg == 1 and not (ctx.process.creds.capable(CAP_SYS_ADMIN)
                         and entry.file.path.startswith("/dev/pts/")):
        raise SyscallError(errno.EPERM)
    return NATIVE


def _tiocgptpeer(ctx, fd: int, flags: int):
    """A master's slave, opened as /dev/pts/N would be with the open flags
    given (Linux's ptm_open_peer takes them as they come; nothing here makes
    or truncates a file), without naming it: the caller gets it whoever
    may look /dev/pts up."""
    flags &= ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_PATH | os.O_TMPFILE)
    host, number, tty = _pty_of_master(ctx, fd)
    if host is None:   # not a master: a slave or another tty is EIO, anything else ENOTTY
        raise SyscallError(errno.EIO if tty else errno.ENOTTY)
    if number is None:
        raise SyscallError(errno.ENOTTY)   # a master not of the sandbox's ptmx
    # (as root: the peer is the master holder's whatever /dev/pts's modes say)
    file, slave_fd = files.open_path(ctx.kernel.vfs, Credentials(), ctx.process.fs.umask, "/",
                                     f"/dev/pts/{number}", flags | os.O_NOCTTY)
    return install_new(ctx, file, slave_fd, bool(flags & os.O_CLOEXEC))


def _tiocgptn(ctx, fd: int, arg: int) -> int:
    """ptsname(): a master's pty number, the sandbox's (sentry/fs/dev.py's
    PtyTable), so /dev/pts/N names it; the host's for a pty not the sandbox's."""
    host, number, _tty = _pty_of_master(ctx, fd)
    if host is None:
        raise SyscallError(errno.ENOTTY)
    ctx.write(arg, struct.pack("I", host if number is None else number))
    return 0


def _pty_of_master(ctx, fd: int) -> tuple[int | None, int | None, bool]:
    """The pty whose master is guest `fd`: (the host's number, or None if `fd`
    is no master; the sandbox's number, or None if not a pty of its ptmx;
    whether `fd` is a terminal at all)."""
    from runsc_py.sentry.fs.dev import host_number

    host_fd = ctx.kernel.borrow_fd(ctx.task, fd)
    try:
        host = host_number(host_fd)
    except OSError:
        return None, None, os.isatty(host_fd)
    finally:
        os.close(host_fd)
    ptys = ctx.kernel.ptys
    return host, ptys.sandbox_number(host) if ptys is not None else None, True


def _interface_ioctl(ctx, entry, request: int, arg: int):
    """SIOCGIF* and the like on a socket: the sandbox's interfaces."""
    from runsc_py.sentry.net import ifreq  # not with the table: most sandboxes make no socket

    if not ifreq.is_interface_ioctl(request):
        raise SyscallError(errno.ENOTTY)
    if ctx.kernel.network.config.mode == "host":  # the namespace's interfaces, never changed
        if request not in HOST_NETWORK_IOCTLS:
            raise SyscallError(errno.EPERM)
        if entry.file.sock.backing == "host":
            return NATIVE
        return ifreq.namespace_ioctl(ctx, request, arg)
    return ifreq.interface_ioctl(ctx, ctx.kernel.network.config, request, arg)


def pipe(ctx, fds_addr):
    return pipe2(ctx, fds_addr, 0)


def pipe2(ctx, fds_addr, flags):
    if flags & ~(os.O_CLOEXEC | os.O_NONBLOCK | os.O_DIRECT):
        raise SyscallError(errno.EINVAL)
    cloexec = bool(flags & os.O_CLOEXEC)
    r = ctx.fds.lowest_free()
    w = ctx.fds.lowest_free(r + 1)
    ctx.write(fds_addr, struct.pack("<ii", r, w))
    host_r, host_w = os.pipe2((flags & ~os.O_CLOEXEC) | os.O_CLOEXEC)
    ctx.fds.install(r, OpenFile("pipe", path="pipe:[read]"), cloexec)
    ctx.fds.install(w, OpenFile("pipe", path="pipe:[write]"), cloexec)
    return InstallFds(0, [FdInstall(host_r, r, cloexec), FdInstall(host_w, w, cloexec)])


def memfd_create(ctx, name_addr, flags):
    name = os.fsdecode(ctx.cstring(name_addr, 250))
    host_fd = os.memfd_create(name, (flags & ~os.MFD_CLOEXEC) | os.MFD_CLOEXEC)
    return install_new(ctx, OpenFile("memfd", path=f"/memfd:{name} (deleted)"), host_fd,
                       bool(flags & os.MFD_CLOEXEC))


def mq_open(ctx, name, oflag, mode, attr):
    """A POSIX message queue of the workload's IPC namespace, opened (or
    made) by the sentry (sentry/mqueue.py); always close-on-exec, as Linux
    makes them. Its attributes are read only with O_CREAT, as Linux does."""
    oflag = as_int(oflag)
    name_b = ctx.cstring(name)
    attrs = ctx.read(attr, MQ_ATTR_SIZE) if attr and oflag & os.O_CREAT else None
    host_fd = ctx.kernel.mqueues.open(ctx.task.host_tid, ctx.process.creds,
                                      ctx.process.fs.umask, name_b, oflag & ~os.O_CLOEXEC,
                                      mode & 0o7777, attrs)
    return install_new(ctx, OpenFile("mqueue", path="/" + os.fsdecode(name_b),
                                     flags=oflag & (os.O_ACCMODE | os.O_NONBLOCK)),
                       host_fd, True)


def mq_unlink(ctx, name):
    ctx.kernel.mqueues.unlink(ctx.task.host_tid, ctx.process.creds, ctx.cstring(name))
    return 0


def eventfd2(ctx, initval, flags):
    if flags & ~(os.EFD_CLOEXEC | os.EFD_NONBLOCK | os.EFD_SEMAPHORE):
        raise SyscallError(errno.EINVAL)
    host_fd = os.eventfd(initval & 0xFFFFFFFF, flags | os.EFD_CLOEXEC)
    return install_new(ctx, OpenFile("eventfd", path="anon_inode:[eventfd]"), host_fd,
                       bool(flags & os.EFD_CLOEXEC))


def eventfd(ctx, initval):
    return eventfd2(ctx, initval, 0)


def epoll_create1(ctx, flags):
    if flags & ~select.EPOLL_CLOEXEC:
        raise SyscallError(errno.EINVAL)
    ep = select.epoll()
    host_fd = os.dup(ep.fileno())
    ep.close()
    return install_new(ctx, OpenFile("epoll", path="anon_inode:[eventpoll]"), host_fd,
                       bool(flags & select.EPOLL_CLOEXEC))


def epoll_create(ctx, size):
    if as_int(size) <= 0:
        raise SyscallError(errno.EINVAL)
    return epoll_create1(ctx, 0)


def getdents64(ctx, fd, buf, count):
    return _getdents(ctx, fd, buf, count, _dirent64)


def getdents(ctx, fd, buf, count):
    """The legacy call older binaries still make: struct linux_dirent."""
    return _getdents(ctx, fd, buf, count, _linux_dirent)


def _dirent64(ino: int, off: int, dtype: int, name: bytes) -> bytes:
    reclen = (DIRENT.size + len(name) + 1 + 7) & ~7
    return DIRENT.pack(ino, off, reclen, dtype) + name + bytes(reclen - DIRENT.size - len(name))


def _linux_dirent(ino: int, off: int, dtype: int, name: bytes) -> bytes:
    """d_ino, d_off, d_reclen, d_name and its NUL, padding, then d_type last (fs/readdir.c)."""
    reclen = (LINUX_DIRENT.size + len(name) + 2 + 7) & ~7
    return (LINUX_DIRENT.pack(ino, off, reclen) + name
            + bytes(reclen - LINUX_DIRENT.size - len(name) - 1) + bytes([dtype]))


def _getdents(ctx, fd, buf, count, record):
    """Fill the caller's buffer with the entries from the directory's position on,
    as iterate_dir does: `count` is an unsigned int, and one above INT_MAX is
    EINVAL at the first entry; a buffer that faults part way gets the entries
    before the fault (EFAULT only when none fit)."""
    fd, count = as_int(fd), as_int(count) & 0xFFFFFFFF
    file = ctx.fds.file(fd)
    if file.flags & os.O_PATH:
        raise SyscallError(errno.EBADF)
    if file.kind != "dir":
        raise SyscallError(errno.ENOTDIR)
    entries = files.dir_entries(file)
    host_fd = ctx.kernel.borrow_fd(ctx.task, fd)
    try:  # the position lives in the host fd, so lseek/rewinddir work natively
        pos = os.lseek(host_fd, 0, os.SEEK_CUR)
        records = []
        size = 0
        while pos + len(records) < len(entries):
            ino, dtype, name = entries[pos + len(records)]
            one = record(ino, pos + len(records) + 1, dtype, name)
            if count > 0x7FFFFFFF or size + len(one) > count:
                break
            records.append(one)
            size += len(one)
        if not records and pos < len(entries):
            raise SyscallError(errno.EINVAL)
        written = _write_records(ctx, buf, records)
        os.lseek(host_fd, pos + len(written), os.SEEK_SET)
    finally:
        os.close(host_fd)
    if files.listed(ctx.kernel.vfs, file):   # (getdents64 is pure to the C side's answers)
        ctx.kernel.platform.forget_answers()
    return sum(len(r) for r in written)


def _write_records(ctx, buf: int, records: list[bytes]) -> list[bytes]:
    """Write the records at buf; if the buffer faults, those before the fault."""
    try:
        ctx.write(buf, b"".join(records))
        return records
    except SyscallError:
        pass
    written, at = [], buf
    for one in records:
        try:
            ctx.write(at, one)
        except SyscallError:
            break
        written.append(one)
        at += len(one)
    if records and not written:
        raise SyscallError(errno.EFAULT)
    return written
