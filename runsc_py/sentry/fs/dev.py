"""The sandbox's /dev: a fixed set of devices, the sandbox's own ptys, and links.

- null, zero, full, random, urandom: host devices the sentry opened at
  start-up; each guest open reopens them, so it gets its own open file
  description as on Linux.
- tty, console: the caller's controlling terminal, when it is a pty of the
  sandbox's: one it made through ptmx, or the one it was given (a
  container's console, `do`'s on a terminal: cli/terminal.py). Otherwise
  ENXIO, as Linux answers a process without a controlling terminal.
- ptmx and pts/: real host ptys, but the sentry decides what pts/ shows:
  only the ptys the sandbox created through this ptmx, while their master
  is open, by numbers of the sandbox's own (the lowest free from 0, as a
  container's devpts numbers them; TIOCGPTN answers it, ttyname and `tty`
  show it; the device numbers stay the host's). The sentry keeps an O_PATH
  fd on each slave (TIOCGPTPEER) and
  reopens *that* inode, so a pty number the host hands to someone else
  after the sandbox's master closed can never be reached by name. Every
  open is O_NOCTTY on the host: the sentry never takes a controlling
  terminal, so the workload's TIOCSCTTY is the only way to get one (an
  open without O_NOCTTY has the caller make it: sessions.py).
- shm/: an empty directory; the VFS mounts a tmpfs over it.
- fd -> /proc/self/fd, stdin/stdout/stderr -> /proc/self/fd/0..2.
Nothing else exists (ENOENT); nothing can be created (the mount is read-only).
"""
from __future__ import annotations

import collections
import errno
import fcntl
import os
import stat as statmod
import struct
from collections.abc import Callable

from runsc_py.sentry.devnumbers import DEVICE_FILES, TERMINALS
from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fs.synthetic import (BOOT_NS, Dir, Entry, SyntheticFilesystem, listing,
                                          to)
from runsc_py.sentry.stat import Stat
from runsc_py.sentry.vfs import Lookup

TMPFS_MAGIC = 0x01021994
TIOCGPTN, TIOCGPTPEER = 0x80045430, 0x5441
DEVICES = tuple(DEVICE_FILES.values())   # null, zero, full, random, urandom
# flags a device open passes to the host; creation and following are the VFS's
OPEN_KEEPS = (os.O_ACCMODE | os.O_APPEND | os.O_NONBLOCK | os.O_NOATIME | os.O_DSYNC
              | os.O_SYNC | os.O_DIRECT | os.O_LARGEFILE)
PTMX_PATHS = ("/dev/pts/ptmx", "/dev/ptmx")


def _ptmx_path() -> str:
    """The host's ptmx the sentry can open once it has no CAP_DAC_OVERRIDE
    (sentry/confinement.py): /dev/pts/ptmx is often mode 000, /dev/ptmx 666."""
    for path in PTMX_PATHS:
        try:
            if os.stat(path).st_mode & 0o006 == 0o006:
                return path
        except OSError:
            continue
    return next((p for p in PTMX_PATHS if os.path.exists(p)), "/dev/ptmx")


class Device(collections.namedtuple("Device", "stat open")):
    """A character device: what stat shows, and how an open reaches the host."""

    __slots__ = ()
    # fields:
    # stat: Callable[[], Stat]
    # open: Callable[[int], int]   # open(flags) -> host fd


class PtyTable:
    """The ptys the sandbox made: the sandbox's pty number -> the sentry's
    O_PATH fd on its slave; and the host's number of each -> the sandbox's."""

    def __init__(self, ptmx_path: str | None = None):
        self.ptmx_path = ptmx_path or _ptmx_path()
        self.slaves: dict[int, int] = {}
        self.numbers: dict[int, int] = {}

    def open_master(self, flags: int) -> int:
        master = os.open(self.ptmx_path, _host_flags(flags) | os.O_RDWR | os.O_CLOEXEC)
        try:
            slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_PATH | os.O_NOCTTY | os.O_CLOEXEC)
            self._add(host_number(master), slave)
        except OSError:
            os.close(master)
            raise
        return master

    def adopt(self, slave: int) -> int:
        """Make a pty opened outside this ptmx the sandbox's all the same (the
        terminal a container's console or `do` on a terminal gives it): pts/
        shows it and /dev/tty opens it. Returns its number."""
        return self._add(int(os.ttyname(slave).rsplit("/", 1)[1]),
                         os.open(f"/proc/self/fd/{slave}", os.O_PATH | os.O_NOCTTY | os.O_CLOEXEC))

    def _add(self, host: int, slave: int) -> int:
        live = self.live()
        stale = self.numbers.pop(host, None)   # the host reused a number whose pty closed
        if stale is not None and stale in live:
            os.close(live.pop(stale))
        number = next(n for n in range(len(live) + 1) if n not in live)
        self.slaves[number] = slave
        self.numbers[host] = number
        return number

    def sandbox_number(self, host: int) -> int | None:
        """The sandbox's number of the host's pty `host` (TIOCGPTN's answer)."""
        number = self.numbers.get(host)
        return number if number is not None and number in self.live() else None

    def live(self) -> dict[int, int]:
        """The ptys whose master is still open (a closed one's slave is unlinked)."""
        for number, slave in list(self.slaves.items()):
            if os.fstat(slave).st_nlink == 0:
                os.close(slave)
                del self.slaves[number]
        if len(self.numbers) > len(self.slaves):
            self.numbers = {h: n for h, n in self.numbers.items() if n in self.slaves}
        return self.slaves

    def open_slave(self, number: int, flags: int) -> int:
        slave = self.live().get(number)
        if slave is None:
            raise SyscallError(errno.ENOENT)
        return os.open(f"/proc/self/fd/{slave}", _host_flags(flags) | os.O_CLOEXEC)

    def slave_stat(self, number: int) -> Stat:
        slave = self.live().get(number)
        if slave is None:
            raise SyscallError(errno.ENOENT)
        return Stat.from_os(os.fstat(slave))

    def find(self, rdev: int) -> int | None:
        for number, slave in self.live().items():
            if os.fstat(slave).st_rdev == rdev:
                return number
        return None


def host_number(master: int) -> int:
    """The host's number of the pty whose master is the host fd `master`."""
    return struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]


class DevFilesystem(SyntheticFilesystem):
    fstype = "tmpfs"   # as a container's /dev is
    magic = TMPFS_MAGIC

    def __init__(self, kernel, dir_fd_source: Callable[[], int], ptys: PtyTable | None = None):
        self.kernel = kernel
        self.ptys = ptys or PtyTable()
        self.host_devices = {name: os.open(f"/dev/{name}", os.O_RDWR | os.O_CLOEXEC)
                             for name in DEVICES}
        entries: dict[str, Entry] = {name: self._host_device(fd)
                                     for name, fd in self.host_devices.items()}
        self.pts_ptmx: Device | None = None   # pts/ptmx, once a devpts is mounted there
        self._fifo_store = None   # where linux.devices' FIFOs are (add_devices)
        entries.update({
            "tty": Device(lambda: _chr(5, 0, 0o666), self._open_terminal),
            "console": Device(lambda: _chr(5, 1, 0o600), self._open_terminal),
            "ptmx": Device(lambda: _chr(5, 2, 0o666), self.ptys.open_master),
            "pts": Dir(self._pts, 0o755),
            "shm": listing({}),
            "fd": to("/proc/self/fd"),
            "stdin": to("/proc/self/fd/0"),
            "stdout": to("/proc/self/fd/1"),
            "stderr": to("/proc/self/fd/2"),
        })
        self._entries = entries
        super().__init__(Dir(lambda: entries, 0o755), dir_fd_source)

    def add_devices(self, devices) -> None:
        """A container's linux.devices (oci.spec.SpecDevice, checked there):
        each a node at its path, with its type, number, mode and owner. A
        number the devfs serves opens that device; a FIFO is a FIFO (in a
        store of its own); any other number has no driver here, as on a
        host without one: its open gives ENXIO."""
        for dev in devices:
            names = dev.path.split("/")[2:]
            parent = self._entries
            for name in names[:-1]:
                entry = parent.get(name)
                if not isinstance(entry, Dir):
                    entry = parent[name] = _mutable_dir()
                parent = entry.children()
            kind = {"c": statmod.S_IFCHR, "b": statmod.S_IFBLK, "p": statmod.S_IFIFO}[dev.kind]
            shown = Stat(kind | dev.mode, 0, 0, 1, dev.uid, dev.gid,
                         0 if dev.kind == "p" else os.makedev(dev.major, dev.minor),
                         0, 4096, 0, BOOT_NS, BOOT_NS, BOOT_NS)
            parent[names[-1]] = Device(lambda shown=shown: shown, self._opener(dev))

    def _opener(self, dev) -> Callable[[int], int]:
        number = (dev.kind, dev.major, dev.minor)
        if number in DEVICE_FILES:
            return self._host_device(self.host_devices[DEVICE_FILES[number]]).open
        if number in TERMINALS:
            return self.ptys.open_master if TERMINALS[number] == "ptmx" else self._open_terminal
        if dev.kind == "p":
            from runsc_py.sentry.fs.store import FileStore

            if self._fifo_store is None:
                self._fifo_store = FileStore(size=1 << 20)
            store, fifo = self._fifo_store, self._fifo_store.new_fifo()
            return lambda flags: store.open_fifo(fifo, flags & OPEN_KEEPS)

        def no_driver(flags: int) -> int:
            if flags & os.O_PATH:   # names the node; no driver is asked
                return os.open(f"/proc/self/fd/{self.host_devices['null']}",
                               os.O_PATH | os.O_CLOEXEC)
            raise SyscallError(errno.ENXIO)
        return no_driver

    def devpts_mounted(self, ptmx_mode: int) -> None:
        """A configuration mounts a devpts at /dev/pts (every container's
        does): it has its own ptmx, and /dev/ptmx becomes the link to it
        that runc makes, `pts/ptmx`."""
        self.pts_ptmx = Device(lambda: _chr(5, 2, ptmx_mode), self.ptys.open_master)
        self._entries["ptmx"] = to("pts/ptmx")

    def _found(self, path: str, entry, open_flags: int) -> Lookup:
        if not isinstance(entry, Device):
            return super()._found(path, entry, open_flags)
        st = entry.stat()._replace(ino=self.ino(path))
        fd = entry.open(open_flags) if open_flags >= 0 else None
        return Lookup("found", stat=st, fd=fd)

    @staticmethod
    def _host_device(host_fd: int) -> Device:
        def stat() -> Stat:
            st = os.fstat(host_fd)
            return Stat(st.st_mode, 0, 0, 1, 0, 0, st.st_rdev, 0, 4096, 0,
                        BOOT_NS, BOOT_NS, BOOT_NS)

        return Device(stat, lambda flags: os.open(f"/proc/self/fd/{host_fd}",
                                                  _host_flags(flags) | os.O_CLOEXEC))

    def _pts(self) -> dict[str, Entry]:
        entries: dict[str, Entry] = {
            str(n): Device(lambda n=n: self.ptys.slave_stat(n),
                           lambda flags, n=n: self.ptys.open_slave(n, flags))
            for n in sorted(self.ptys.live())}
        if self.pts_ptmx is not None:
            entries["ptmx"] = self.pts_ptmx
        return entries

    def _open_terminal(self, flags: int) -> int:
        """The caller's controlling terminal, if the sentry can name it (see above)."""
        tty_nr = _controlling_tty(self.kernel)
        if tty_nr == 0:
            raise SyscallError(errno.ENXIO)
        number = self.ptys.find(tty_nr)
        if number is not None:
            return self.ptys.open_slave(number, flags)
        raise SyscallError(errno.ENXIO)


def _mutable_dir() -> Dir:
    """A directory of /dev a linux.devices path needs (/dev/net for
    /dev/net/tun): 0755, as runc makes it."""
    children: dict[str, Entry] = {}
    return Dir(lambda: children, 0o755)


def _host_flags(flags: int) -> int:
    """What a guest open of a device passes to the host: never a controlling terminal."""
    if flags & os.O_PATH:
        return os.O_PATH
    return (flags & OPEN_KEEPS) | os.O_NOCTTY


def _chr(major: int, minor: int, mode: int) -> Stat:
    return Stat(statmod.S_IFCHR | mode, 0, 0, 1, 0, 5 if major == 5 else 0,
                os.makedev(major, minor), 0, 4096, 0, BOOT_NS, BOOT_NS, BOOT_NS)


def _controlling_tty(kernel) -> int:
    """tty_nr of the calling process, from the host (the terminal is the host's object)."""
    current = kernel.current
    if current is None:
        return 0
    from runsc_py.sentry.fs import hostinfo

    try:
        raw = hostinfo.task_file(current.host_tid, "stat")
    except (SyscallError, OSError):
        return 0
    return int(raw.rsplit(b")", 1)[1].split()[4])

