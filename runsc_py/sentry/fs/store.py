"""Where a sentry tmpfs keeps its bytes: host memory the workload maps natively.

Every regular file of a sentry tmpfs is one host inode with no name, the
same kind of object as a memfd. Preferably it is an `O_TMPFILE` on a
*detached* host tmpfs made with fsopen/fsconfig/fsmount: a mount that is
attached nowhere, so no path in any namespace reaches it, and whose
`size=` makes a native write past the limit fail with ENOSPC, as on Linux.
FIFOs are real host FIFOs named inside that detached mount, where only the
sentry can open them. If the host refuses fsopen (no CAP_SYS_ADMIN), files
are plain memfds: same data path, but `size=` is then only checked when the
sentry itself grows a file, and FIFOs are not offered (EPERM). A tmpfs
mounted inside the sandbox (mount(2)) comes after the sentry confined
itself and can make no mount: it shares the detached mount of a store
made at boot, and its `size=` is the sentry's to check, as with memfds.

A guest open re-opens the file through the sentry's /proc/self/fd, which
gives a new open file description (its own offset and flags), as a second
open(2) of one file does on Linux.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import os

from runsc_py import hostcalls
from runsc_py.sentry import fifos

FSOPEN_CLOEXEC = 1
FSMOUNT_CLOEXEC = 1
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
TMPFS_MAGIC = 0x01021994
DEFAULT_SIZE = 1 << 40  # "no limit" as Linux's tmpfs reports it: half of RAM; we say 1 TiB

# st_dev of every host filesystem only the sentry reaches: each store's
# detached tmpfs, and the kernel's internal one behind memfds (procfs
# snapshots, stores without fsopen). File locks there stay native (sentry/locks.py).
_private_devices: set[int] = set()


def private_devices() -> set[int]:
    if not _private_devices:
        memfd = os.memfd_create("runsc-py-dev", os.MFD_CLOEXEC)
        try:
            _private_devices.add(os.fstat(memfd).st_dev)
        finally:
            os.close(memfd)
    return _private_devices


def detached_tmpfs(size: int | None) -> int:
    """A host tmpfs attached to no mount point; returns its mount fd."""
    fs_fd = hostcalls.fsopen("tmpfs", FSOPEN_CLOEXEC)
    try:
        if size is not None:
            hostcalls.fsconfig(fs_fd, FSCONFIG_SET_STRING, "size", str(size))
        hostcalls.fsconfig(fs_fd, FSCONFIG_CMD_CREATE)
        return hostcalls.fsmount(fs_fd, FSMOUNT_CLOEXEC)
    finally:
        os.close(fs_fd)


class FileStore:
    """Host memory for one sentry tmpfs: new files, FIFOs, and its usage."""

    def __init__(self, size: int | None = None, host: "FileStore | None" = None):
        """host: a store whose detached mount this one shares (made after boot)."""
        self.size = size
        self.limited_by_host = False   # whether the host's tmpfs enforces `size`
        if host is not None:
            self.mount_fd = host.mount_fd
            self._fifo_names = host._fifo_names   # one namespace of FIFO names per mount
            return
        self._fifo_names = itertools.count(1)
        try:
            self.mount_fd: int | None = detached_tmpfs(size)
        except OSError:
            self.mount_fd = None
        else:
            self.limited_by_host = True
            private_devices().add(os.fstat(self.mount_fd).st_dev)

    def new_file(self) -> int:
        """A fresh empty regular file, held by the sentry by an O_PATH fd.

        Not a writable fd: exec refuses (ETXTBSY) a file anyone holds open for
        writing, and the sandbox must be able to run what it wrote. The host
        inode's mode (0755) lets the workload's unprivileged host user exec
        it; no one else can name it (the mount is attached nowhere, a memfd
        has no path), and the mode and owner the sandbox sees are the tmpfs
        node's. (A chown to the workload's host user would need CAP_CHOWN,
        which the confined sentry no longer has.)"""
        if self.mount_fd is not None:
            fd = os.open(".", os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o755, dir_fd=self.mount_fd)
        else:
            fd = os.memfd_create("runsc-py-tmpfs", os.MFD_CLOEXEC)
        try:
            os.fchmod(fd, 0o755)   # whatever the umask; a memfd is born 0777
            return reopen(fd, os.O_PATH)
        finally:
            os.close(fd)

    def new_fifo(self) -> str:
        """A fresh host FIFO inside the detached mount; returns its name there."""
        if self.mount_fd is None:
            raise OSError(errno.EPERM, "FIFOs need a detached tmpfs (fsopen was refused)")
        name = f"fifo-{next(self._fifo_names)}"
        os.mkfifo(name, 0o600, dir_fd=self.mount_fd)
        return name

    def open_fifo(self, name: str, flags: int) -> int:
        """Open it now, or raise MustWait for a partner (sentry/fifos.py)."""
        st = os.stat(name, dir_fd=self.mount_fd)
        return fifos.open_fifo(lambda f: os.open(name, f | os.O_CLOEXEC, dir_fd=self.mount_fd),
                               flags, (st.st_dev, st.st_ino))

    def drop_fifo(self, name: str) -> None:
        os.unlink(name, dir_fd=self.mount_fd)

    def usage(self) -> tuple[int, int]:
        """(total bytes, free bytes) as statfs reports them."""
        if self.limited_by_host:
            st = os.fstatvfs(self.mount_fd)
            return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
        total = self.size or DEFAULT_SIZE
        return total, total


def reopen(fd: int, flags: int) -> int:
    """A new open file description of the file behind the sentry's `fd`."""
    return os.open(f"/proc/self/fd/{fd}", flags | os.O_CLOEXEC)


@contextlib.contextmanager
def writable(fd: int):
    """The file behind an O_PATH `fd`, open for writing just while the sentry writes."""
    rw = reopen(fd, os.O_RDWR)
    try:
        yield rw
    finally:
        os.close(rw)


def set_times(fd: int, atime_ns: int, mtime_ns: int) -> None:
    """utimes of the file behind an O_PATH `fd` (futimens needs a real open)."""
    os.utime(f"/proc/self/fd/{fd}", ns=(atime_ns, mtime_ns))
