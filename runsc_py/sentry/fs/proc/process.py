"""/proc/<pid>/ and /proc/<pid>/task/<tid>/: one sandbox process, by virtual pid.

The sentry owns the ids (pids, parent, process group and session as the
sandbox's pid namespace numbers them, tracer), the credentials, the name,
the fd table, the cwd and the mounts; those come from the task table. The
host owns the address space (maps, statm, cmdline and environ, which live
in the process's memory), cpu times, states and resource limits; those are
read from the host's /proc/<host tid>/ and translated: every id the host
shows is replaced by the sentry's, and a path in maps is shown as the
sandbox names it, or not at all when it is outside the sandbox's root.

Files that reveal more than a process's name (environ, maps, fd/, fdinfo/,
the exe/cwd/root links) need ptrace access, as on Linux: the caller's own
process, the same uid throughout, or CAP_SYS_PTRACE.

A zombie (exited, not yet reaped: sentry/zombies.py) keeps its directory
as on Linux: its host files show state Z and the ids it died with; it has
no fds, and its exe, cwd and root links are gone (ENOENT).
"""
from __future__ import annotations

import errno
import fcntl
import os

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.files import O_PATH_STATUS
from runsc_py.sentry.fs import hostinfo
from runsc_py.sentry.fs.proc import fdlinks
from runsc_py.sentry.fs.proc.mounts import render_mountinfo, render_mounts
from runsc_py.sentry.fs.proc.namespaces import ns_dir
from runsc_py.sentry.fs.proc.net import net_dir
from runsc_py.sentry.fs.synthetic import Dir, Entry, File, Link

CAP_SYS_PTRACE = 19
IDENTITY_MAP = b"         0          0 4294967295\n"
HOST_FDINFO_KEEPS = ("eventfd-", "tfd:", "sigmask:", "clockid:", "ticks:", "settime flags:",
                     "it_value:", "it_interval:")   # what eventfd, epoll, signalfd, timerfd add
OPENED_BY_PATH = ("file", "dir", "device")   # kinds whose OpenFile.flags are open(2)'s
MAPS_PATH_COLUMN = 72   # Linux pads a maps line to here before the path
STOPPED_BY_SENTRY = {b"t": b"S"}   # a ptrace stop: the sentry holds the task


class ProcessView:
    """The files of one process (or one of its threads, when `task` is given)."""

    def __init__(self, procfs, process, task=None):
        self.procfs = procfs
        self.kernel = procfs.kernel
        self.process = process
        self.task = task   # None: the process as a whole (its leader's host files)

    # -- the directory -------------------------------------------------------

    def directory(self) -> Dir:
        owner = (self.process.creds.euid, self.process.creds.egid)

        def children() -> dict[str, Entry]:
            files: dict[str, Entry] = {
                "stat": self._file(self.stat), "status": self._file(self.status),
                "statm": self._file(lambda: self._host("statm")),
                "cmdline": self._file(lambda: self._host("cmdline")),
                "environ": self._file(lambda: self._inspected(self._host, "environ"), 0o400),
                "comm": self._comm_file(),
                "mem": File(lambda: b"", 0o600, owner, opener=self._open_mem),
                "maps": self._file(lambda: self._inspected(self.mappings, "maps")),
                "limits": self._file(lambda: self._host("limits")),
                "cgroup": self._file(lambda: b"0::/\n"),
                "oom_score_adj": self._file(lambda: b"0\n", 0o644),
                "oom_score": self._file(lambda: self._host("oom_score")),
                "smaps": self._file(lambda: self._inspected(self.mappings, "smaps")),
                "smaps_rollup": self._file(lambda: self._inspected(self.mappings, "smaps_rollup")),
                "auxv": self._file(lambda: self._inspected(self._host, "auxv"), 0o400),
                "io": self._file(lambda: self._inspected(self._host, "io"), 0o400),
                "personality": self._file(lambda: self._inspected(self._host, "personality"), 0o400),
                # the spec's user namespace, else the initial one; no login session
                "uid_map": self._file(lambda: self._id_map("uids")),
                "gid_map": self._file(lambda: self._id_map("gids")),
                "setgroups": self._file(lambda: b"allow\n"),
                "loginuid": self._file(lambda: b"4294967295"),
                "sessionid": self._file(lambda: b"4294967295"),
                "mounts": self._file(lambda: render_mounts(self._mntns(), self.procfs.host_root)),
                "mountinfo": self._file(
                    lambda: render_mountinfo(self._mntns(), self.procfs.host_root)),
                "fd": Dir(self._fd_links, 0o500, owner, self._fd_numbers, self._fd_link),
                "fdinfo": Dir(self._fd_infos, 0o500, owner, self._fd_numbers, self._fd_info),
                "exe": self._link(lambda: self._for_reader(self._exe())),
                "cwd": self._link(lambda: self._for_reader(self._fs_path(self.process.fs.cwd))),
                "root": self._link(lambda: self._for_reader(self._fs_path(self.process.fs.root))),
                "net": net_dir(self.kernel),
                "ns": ns_dir(self.kernel, self.process, self._inspected, owner),
            }
            if self.task is None:   # what only a process, not a thread, has
                files["task"] = Dir(self._threads, 0o555, owner)
                files["coredump_filter"] = self._file(lambda: self._host("coredump_filter"), 0o644)
            return files

        return Dir(children, 0o555, owner)

    def _file(self, render, mode: int = 0o444) -> File:
        return File(render, mode, (self.process.creds.euid, self.process.creds.egid))

    def _link(self, target) -> Link:
        return Link(lambda: self._inspected(target), None, 0o777,
                    (self.process.creds.euid, self.process.creds.egid), size=0)

    def _threads(self) -> dict[str, Entry]:
        if self._zombie():   # its leader stays listed until the zombie is reaped
            leader = self.process.exited_leader
            return {str(leader.vtid): ProcessView(self.procfs, self.process, leader).directory()}
        return {str(t.vtid): ProcessView(self.procfs, self.process, t).directory()
                for t in sorted(list(self.process.threads.values()), key=lambda t: t.vtid)}

    # -- access ----------------------------------------------------------------

    def _inspected(self, render, *args):
        """render(*args), if the caller may inspect this process (ptrace access)."""
        if not may_inspect(self.kernel.current, self.process):
            raise SyscallError(errno.EACCES)
        return render(*args)

    # -- host files, translated ---------------------------------------------------

    def _zombie(self) -> bool:
        return self.process.exit_status is not None

    def _host_tid(self) -> int:
        if self.task is not None:
            return self.task.host_tid
        if self._zombie():
            return self.process.exited_leader.host_tid
        host = self.kernel.tasks.host_pid_of(self.process.vpid)
        if host is None:
            raise SyscallError(errno.ESRCH)
        return host

    def _host(self, name: str) -> bytes:
        data = hostinfo.task_file(self._host_tid(), name)
        if self._zombie() and not self.kernel.tasks.zombies.still_held(self.process):
            raise SyscallError(errno.ESRCH)   # reaped meanwhile: the pid may be another's now
        return data

    def _id_map(self, which: str) -> bytes:
        mappings = self.kernel.id_mappings
        return IDENTITY_MAP if mappings is None else getattr(mappings, which).render()

    def _comm(self) -> bytes:
        name = self.task.comm if self.task is not None else self.process.comm
        return name or self._host("comm").rstrip(b"\n")

    def _comm_file(self) -> File:
        """A thread's name; a thread of the same process may write it (Linux
        refuses any other writer with EINVAL at the write: here the open of
        it for writing is refused, EACCES). As Linux's comm_write, the first
        15 bytes written are the name, a newline included."""
        current = self.kernel.current
        thread = self.task if self.task is not None else self._leader()

        def write(content: bytes) -> None:
            if thread is not None:
                thread.comm = content.split(b"\0", 1)[0][:15]

        own = current is not None and current.process is self.process
        return File(lambda: self._comm() + b"\n", 0o644,
                    (self.process.creds.euid, self.process.creds.egid), write if own else None)

    def _open_mem(self, open_flags: int) -> int:
        """/proc/<pid>/mem: the host's, of the same thread, for a caller that
        may attach to the process (Linux's mm_access, PTRACE_MODE_ATTACH);
        reads at an address then go through the host kernel, which checked
        nothing more after the open either. For reading only: the confined
        sentry (no CAP_DAC_OVERRIDE) cannot open a workload process's mem,
        owned by the workload's host user, for writing (docs/compatibility.md)."""
        if self._zombie():
            raise SyscallError(errno.ESRCH)
        if not may_inspect(self.kernel.current, self.process, attach=True):
            raise SyscallError(errno.EACCES)
        if open_flags & os.O_ACCMODE != os.O_RDONLY:
            raise SyscallError(errno.EACCES, "/proc/<pid>/mem opens for reading only")
        access = open_flags & (os.O_LARGEFILE | os.O_NONBLOCK)
        return hostinfo.open_task_file(self._host_tid(), "mem", os.O_RDONLY | access)

    def _leader(self):
        """The process's leading thread (its tid is the pid), if it is alive."""
        return next((t for t in list(self.process.threads.values())
                     if t.vtid == self.process.vpid), None)

    def _vtid(self) -> int:
        return self.task.vtid if self.task is not None else self.process.vpid

    def _is_caller(self) -> bool:
        current = self.kernel.current
        if current is None:
            return False
        return current is self.task if self.task is not None else current.process is self.process

    def _state(self, host_state: bytes) -> bytes:
        """The caller is running (it is in this read); a task the sentry holds
        in a ptrace stop waits for it, as a sleeping task would."""
        if self._is_caller():
            return b"R"
        if host_state == b"t" and self._host_tid() in self.kernel.job_control_stopped:
            return b"T"   # stopped by SIGSTOP & co: the host shows its ptrace stop
        return STOPPED_BY_SENTRY.get(host_state, host_state)

    def _virtual(self, host_id: int) -> int:
        """A host pid of a sandbox task as the sandbox numbers it; 0 for anything else."""
        task = self.kernel.tasks.by_host_tid.get(host_id)
        return task.vtid if task is not None else 0

    def _ns_ids(self) -> dict[bytes, int]:
        """pgid and sid as the sandbox's pid namespace numbers them (NSpgid, NSsid)."""
        out = {}
        for line in self._host("status").splitlines():
            key, _, rest = line.partition(b":")
            if key in (b"NSpgid", b"NSsid") and rest.split():
                out[key] = int(rest.split()[-1])
        return out

    def stat(self) -> bytes:
        raw = self._host("stat")
        _head, _, tail = raw.rpartition(b")")
        fields = tail.split()
        ids = self._ns_ids()
        fields[0] = self._state(fields[0])
        fields[1] = str(self.process.vppid).encode()
        fields[2] = str(ids.get(b"NSpgid", self.process.pgid)).encode()
        fields[3] = str(ids.get(b"NSsid", self.process.sid)).encode()
        tpgid = int(fields[5])   # the terminal's foreground group: 0 when outside the sandbox
        fields[5] = str(self._virtual(tpgid) if tpgid > 0 else -1).encode()
        comm = self._comm().replace(b"\n", b" ")
        return b"%d (%s) " % (self._vtid(), comm) + b" ".join(fields) + b"\n"

    def status(self) -> bytes:
        task = self.task or self.process.leader   # (credentials are per thread)
        creds = task.creds if task is not None else self.process.creds
        ids = self._ns_ids()
        replace = {
            b"Name": self._comm(),
            b"Umask": b"%04o" % self.process.fs.umask,
            b"Tgid": b"%d" % self.process.vpid,
            b"Pid": b"%d" % self._vtid(),
            b"PPid": b"%d" % self.process.vppid,
            b"TracerPid": b"0",   # ptrace is denied inside: the only tracer is the sentry
            b"Ngid": b"0",        # a NUMA group's leader is a (host) pid; none here
            b"Uid": b"%d\t%d\t%d\t%d" % (creds.uid, creds.euid, creds.suid, creds.fsuid),
            b"Gid": b"%d\t%d\t%d\t%d" % (creds.gid, creds.egid, creds.sgid, creds.fsgid),
            b"Groups": b" ".join(b"%d" % g for g in creds.groups) + (b" " if creds.groups else b""),
            b"CapInh": b"%016x" % creds.cap_inheritable,   # the sentry's sets, not the host thread's
            b"CapPrm": b"%016x" % creds.cap_permitted,
            b"CapEff": b"%016x" % creds.cap_effective,
            b"CapBnd": b"%016x" % creds.cap_bounding,
            b"CapAmb": b"%016x" % creds.cap_ambient,
            b"NoNewPrivs": b"%d" % creds.no_new_privs,
            b"NStgid": b"%d" % self.process.vpid,
            b"NSpid": b"%d" % self._vtid(),
            b"NSpgid": b"%d" % ids.get(b"NSpgid", self.process.pgid),
            b"NSsid": b"%d" % ids.get(b"NSsid", self.process.sid),
        }
        out = []
        for line in self._host("status").splitlines():
            key, _, rest = line.partition(b":")
            if key in replace:
                line = key + b":\t" + replace[key]
            elif key == b"State":
                state = rest.split()[0] if rest.split() else b"R"
                line = b"State:\t" + _state_name(self._state(state))
            out.append(line)
        return b"\n".join(out) + b"\n"

    def mappings(self, name: str) -> bytes:
        """maps, smaps or smaps_rollup: each mapping's line translated, the
        smaps figures ("Rss:  4 kB") as they are."""
        out = []
        for line in self._host(name).decode("utf-8", "surrogateescape").splitlines():
            is_mapping = "-" in line.split(" ", 1)[0] and not line.split(" ", 1)[0].endswith(":")
            out.append(self._translate_map(line) if is_mapping else line)
        return ("\n".join(out) + "\n" if out else "").encode("utf-8", "surrogateescape")

    def _translate_map(self, line: str) -> str:
        parts = line.split(None, 5)
        if len(parts) < 6:
            return line
        addr, perms, offset, dev, inode, path = parts
        if path.startswith("/") and not path.startswith("/memfd:"):
            deleted = path.endswith(" (deleted)")
            guest = hostinfo.to_guest(path.removesuffix(" (deleted)"), self.procfs.host_paths)
            if guest is None:  # outside the sandbox's root: shown as anonymous memory
                return f"{addr} {perms} {offset} 00:00 0"
            mount = self.kernel.vfs.mount_of([n for n in guest.split("/") if n])[0]
            dev = f"{os.major(mount.dev):02x}:{os.minor(mount.dev):02x}"
            path = guest + (" (deleted)" if deleted else "")
        head = f"{addr} {perms} {offset} {dev} {inode}"
        return head.ljust(MAPS_PATH_COLUMN) + " " + path

    def _for_reader(self, path: str) -> str:
        """A guest path as the reading process names it: relative to its root
        (chroot), or whole when it lies outside that root, as Linux's d_path."""
        current = self.kernel.current
        root = current.process.fs.root if current is not None else "/"
        if root == "/" or not (path == root or path.startswith(root.rstrip("/") + "/")):
            return path
        return path[len(root.rstrip("/")):] or "/"

    def _exe(self) -> str:
        if not self.process.exe or self._zombie():   # a zombie has no memory map
            raise SyscallError(errno.ENOENT)
        return self.process.exe

    def _fs_path(self, path: str) -> str:
        if self._zombie():   # nor a cwd or root
            raise SyscallError(errno.ENOENT)
        return path

    def _mntns(self):
        """The process's mount namespace, whose table mounts and mountinfo show."""
        return self.process.mntns or self.kernel.vfs.initial

    # -- fd/ and fdinfo/ -----------------------------------------------------------

    def _fd_numbers(self) -> list[int]:
        if not may_inspect(self.kernel.current, self.process):
            raise SyscallError(errno.EACCES)
        if self._zombie():   # its fds closed at exit (the table may be another's too)
            return []
        return sorted(list(self.process.fds.entries))

    def _fd_links(self) -> dict[str, Entry]:
        return {str(fd): self._fd_link(str(fd)) for fd in self._fd_numbers()}

    def _fd_link(self, name: str) -> Link | None:
        fd = self._fd_number(name)
        if fd is None:
            return None
        return Link(lambda: fdlinks.link_text(self.kernel, self.process, fd, self.procfs.host_paths),
                    lambda flags: self._reopen(fd, flags), self._link_mode(fd),
                    (self.process.creds.euid, self.process.creds.egid), size=64)

    def _fd_number(self, name: str) -> int | None:
        """The open fd `name` names ("3", not "03"), after the ptrace access check."""
        if not may_inspect(self.kernel.current, self.process):
            raise SyscallError(errno.EACCES)
        if not name.isdigit() or name != str(int(name)) or int(name) not in self.process.fds.entries \
                or self._zombie():
            return None
        return int(name)

    def _link_mode(self, fd: int) -> int:
        file = self.process.fds.file(fd)
        if file.kind in OPENED_BY_PATH:
            return _access_mode(file.flags)
        with fdlinks.borrowed(self.kernel, self.process, fd) as host:
            # a pipe end, an anon inode, a passed-in file: the host knows its mode
            return _access_mode(fcntl.fcntl(host, fcntl.F_GETFL))

    def _reopen(self, fd: int, open_flags: int):
        caller = self.kernel.current.process if self.kernel.current else self.process
        return fdlinks.reopen(self.kernel, caller, self.process, fd, open_flags)

    def _fd_infos(self) -> dict[str, Entry]:
        return {str(fd): self._fd_info(str(fd)) for fd in self._fd_numbers()}

    def _fd_info(self, name: str) -> File | None:
        fd = self._fd_number(name)
        return None if fd is None else self._file(lambda: self._fdinfo(fd))

    def _fdinfo(self, fd: int) -> bytes:
        entry = self.process.fds.get(fd)
        if entry.file.flags & os.O_PATH and entry.file.mount is not None:
            pos, flags, ino, extra = 0, entry.file.flags & O_PATH_STATUS, self._o_path_ino(entry.file), ""
        else:
            pos, flags, ino, extra = self._host_fdinfo(fd, entry)
        if entry.cloexec:
            flags |= os.O_CLOEXEC
        mount = entry.file.mount
        mnt_id = mount.mount_id if mount is not None else 0
        return f"pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t{mnt_id}\nino:\t{ino}\n{extra}".encode()

    def _o_path_ino(self, file) -> int:
        """An O_PATH file's inode number: it has no host fd (fdtable.py)."""
        st = file.mount.fs.stat_node(file.node) if file.node is not None else None
        if st is None:
            st = self.kernel.vfs.resolve("/", file.path, follow=False).stat
        return st.ino

    def _host_fdinfo(self, fd: int, entry) -> tuple[int, int, int, str]:
        with fdlinks.borrowed(self.kernel, self.process, fd) as host:
            try:
                pos = os.lseek(host, 0, os.SEEK_CUR)
            except OSError:
                pos = 0
            flags = fcntl.fcntl(host, fcntl.F_GETFL) & ~os.O_CLOEXEC
            ino = os.fstat(host).st_ino
            extra = self._host_fdinfo_extra(host) if entry.file.kind in ("eventfd", "epoll") else ""
        return pos, flags, ino, extra

    @staticmethod
    def _host_fdinfo_extra(host: int) -> str:
        """The lines an anon inode adds to fdinfo (an eventfd's count, an epoll's
        targets, which name guest fds: the workload's host fds are its guest fds)."""
        text = hostinfo.read(f"/proc/self/fdinfo/{host}").decode()
        return "".join(line + "\n" for line in text.splitlines() if line.startswith(HOST_FDINFO_KEEPS))


def may_inspect(caller_task, process, attach: bool = False) -> bool:
    """Linux's ptrace_may_access(PTRACE_MODE_READ_FSCREDS) on the sentry's
    credentials: the caller's fs ids are all of the target's, or it has
    CAP_SYS_PTRACE. With `attach` (PTRACE_MODE_ATTACH, which /proc/<pid>/mem
    asks), the target must also have no capability the caller lacks."""
    if caller_task is None or caller_task.process is process:
        return True
    mine, theirs = caller_task.process.creds, process.creds
    if mine.capable(CAP_SYS_PTRACE):
        return True
    same_user = mine.fsuid == theirs.uid == theirs.euid == theirs.suid
    same_group = mine.fsgid == theirs.gid == theirs.egid == theirs.sgid
    subset = not attach or theirs.cap_permitted & ~mine.cap_permitted == 0
    return same_user and same_group and subset


def _access_mode(flags: int) -> int:
    """fd links show the access mode as permission bits (r-x for read, -wx for write)."""
    access = flags & os.O_ACCMODE
    mode = 0
    if access in (os.O_RDONLY, os.O_RDWR):
        mode |= 0o500
    if access in (os.O_WRONLY, os.O_RDWR):
        mode |= 0o300
    return mode


_STATE_NAMES = {b"R": b"R (running)", b"S": b"S (sleeping)", b"D": b"D (disk sleep)",
                b"T": b"T (stopped)", b"t": b"t (tracing stop)", b"Z": b"Z (zombie)",
                b"X": b"X (dead)", b"I": b"I (idle)"}


def _state_name(state: bytes) -> bytes:
    return _STATE_NAMES.get(state, state)

