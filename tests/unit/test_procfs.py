"""procfs, sysfs and devfs against a stand-in kernel: what each file renders,
what the tree resolves, and the guards on reopening through fd/N.

The stand-in's one process is this test process itself (host tid = our
pid), so the host files procfs translates are real ones; its virtual pid is
7, so any host pid in the output is a translation that was missed.
"""
import errno
import fcntl
import os
import re
import stat as statmod
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.fdtable import FdTable, OpenFile
from runsc_py.sentry.fs import hostinfo
from runsc_py.sentry.fs.dev import DevFilesystem, PtyTable
from runsc_py.sentry.fs.proc import ProcFilesystem
from runsc_py.sentry.fs.proc.mounts import render_mountinfo, render_mounts
from runsc_py.sentry.fs.sys import SysFilesystem
from runsc_py.sentry.fs.synthetic import SyntheticFilesystem, listing
from runsc_py.sentry.limits import SandboxLimits
from runsc_py.sentry.tasks import Credentials, FsContext, Process, Task, TaskTable
from runsc_py.sentry.vfs import VFS
from runsc_py.sentry.writeback import WriteBacks
from runsc_py.syscalls.misc import SANDBOX_RELEASE

VPID = 7


class StandInKernel:
    """What procfs asks of the kernel, with this process as the sandbox's one process."""

    def __init__(self):
        self.tasks = TaskTable()
        self.limits = SandboxLimits()
        self.id_mappings = None   # no user namespace in the spec
        self.sysctl: dict[str, str] = {}
        self.hostname, self.domainname = "sandbox-host", "(none)"
        self.writebacks = WriteBacks()
        self.namespaces = False
        self.vfs = VFS()
        self.host_fds: dict[int, int] = {}   # guest fd -> a host fd standing behind it
        proc = Process(VPID, None, FdTable(), FsContext(cwd="/work"),
                       Credentials(uid=1000, euid=1000, suid=1000, gid=100, egid=100, sgid=100,
                                   fsuid=1000, fsgid=100), exe="/bin/prog", comm=b"prog")
        self.task = Task(os.getpid(), VPID, proc)
        self.tasks.add(self.task)
        self.tasks.init = proc
        self.current = self.task

    @property
    def process(self) -> Process:
        return self.task.process

    def borrow_fd(self, task, guest_fd: int) -> int:
        if guest_fd not in self.host_fds:
            raise SyscallError(errno.EBADF)
        return os.dup(self.host_fds[guest_fd])

    def give(self, guest_fd: int, host_fd: int, file: OpenFile) -> None:
        self.host_fds[guest_fd] = host_fd
        self.process.fds.install(guest_fd, file)


def dir_fd() -> int:
    return os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


@pytest.fixture
def kernel():
    k = StandInKernel()
    yield k
    for fd in k.host_fds.values():
        os.close(fd)


@pytest.fixture
def procfs(kernel):
    fs = ProcFilesystem(kernel, dir_fd)
    kernel.vfs.mount("/", SyntheticFilesystem(listing({}), dir_fd), readonly=True)
    kernel.vfs.mount("/proc", fs, readonly=True, source="proc",
                     options=frozenset({"nosuid", "nodev", "noexec"}))
    return fs


def read(fs, path: str) -> bytes:
    fd = fs.lookup(path, os.O_RDONLY).fd
    try:
        return os.read(fd, 1 << 20)
    finally:
        os.close(fd)


def errno_of(call, *args) -> int:
    with pytest.raises(SyscallError) as exc:
        call(*args)
    return exc.value.errno


# -- the tree ------------------------------------------------------------------

def test_root_lists_only_the_sandbox_processes(procfs):
    names = {name for _ino, _t, name in procfs.readdir("")}
    assert str(VPID).encode() in names and b"self" in names and b"thread-self" in names
    assert not [n for n in names if n.isdigit() and n != str(VPID).encode()]


def test_self_and_thread_self_name_the_caller(procfs):
    assert procfs.lookup("self").target == str(VPID)
    assert procfs.lookup("thread-self").target == f"{VPID}/task/{VPID}"
    assert procfs.lookup("self/status") == procfs.lookup("self/status")._replace(
        kind="symlink", consumed=1, target=str(VPID))


def test_unknown_and_host_pids_are_enoent(procfs):
    for name in (str(os.getpid()), "1", "99999", "self2"):
        assert errno_of(procfs.lookup, name) == errno.ENOENT
    assert errno_of(procfs.lookup, f"{VPID}/status/x") == errno.ENOTDIR


def test_self_needs_a_caller(procfs, kernel):
    kernel.current = None
    assert errno_of(procfs.lookup, "self") == errno.ENOENT


def test_files_are_read_only_snapshots(procfs):
    fd = procfs.lookup(f"{VPID}/comm", os.O_RDONLY).fd
    try:
        assert os.read(fd, 100) == b"prog\n"
        assert errno_of_os(os.write, fd, b"x") == errno.EBADF
        assert os.pread(fd, 4, 0) == b"prog"
    finally:
        os.close(fd)
    st = procfs.lookup(f"{VPID}/comm").stat
    assert statmod.S_ISREG(st.mode) and st.size == 0 and st.uid == 1000


def errno_of_os(call, *args) -> int:
    with pytest.raises(OSError) as exc:
        call(*args)
    return exc.value.errno


# -- per-process files: the sentry's ids, never the host's ----------------------

def test_stat_has_virtual_ids(procfs):
    fields = read(procfs, f"{VPID}/stat").decode()
    assert fields.startswith(f"{VPID} (prog) R 0 ")
    assert str(os.getpid()) not in fields.split()[:8]


def test_status_has_virtual_ids_and_sentry_credentials(procfs):
    status = read(procfs, f"{VPID}/status").decode()
    values = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert values["Name"] == "prog" and values["Pid"] == str(VPID) and values["Tgid"] == str(VPID)
    assert values["PPid"] == "0" and values["TracerPid"] == "0"
    assert values["Uid"] == "1000\t1000\t1000\t1000" and values["Gid"] == "100\t100\t100\t100"
    assert values["NSpid"] == str(VPID)
    assert not re.search(rf"\b{os.getpid()}\b", status)


def test_links(procfs, kernel):
    assert procfs.lookup(f"{VPID}/exe").target == "/bin/prog"
    assert procfs.lookup(f"{VPID}/cwd").target == "/work"
    assert procfs.lookup(f"{VPID}/root").target == "/"
    kernel.process.exe = ""
    assert errno_of(procfs.lookup, f"{VPID}/exe") == errno.ENOENT


def test_maps_drop_paths_outside_the_root(kernel):
    inside = ProcFilesystem(kernel, dir_fd, host_paths=[("/", "/")])
    elsewhere = ProcFilesystem(kernel, dir_fd, host_paths=[("/nonexistent-root", "/")])
    kernel.vfs.mount("/", SyntheticFilesystem(listing({}), dir_fd), readonly=True)
    assert re.search(rb" /\S*python", read(inside, f"{VPID}/maps"))
    outside = read(elsewhere, f"{VPID}/maps")
    assert not re.search(rb" /(?!memfd:)\S", outside.replace(b" 00:00 0", b""))
    assert b"[stack]" in outside


def test_threads_are_listed_under_task(procfs):
    assert [name for _i, _t, name in procfs.readdir(f"{VPID}/task")] == [str(VPID).encode()]
    assert read(procfs, f"{VPID}/task/{VPID}/comm") == b"prog\n"


def test_another_users_process_is_not_inspectable(procfs, kernel):
    other = Process(8, None, FdTable(), FsContext(), Credentials(uid=0, euid=0, suid=0))
    kernel.tasks.add(Task(os.getppid(), 8, other))
    assert read(procfs, "8/stat").startswith(b"8 (")            # stat is public
    for path in ("8/environ", "8/maps", "8/fd", "8/exe", "8/cwd"):
        assert errno_of(procfs.lookup, path, os.O_RDONLY) == errno.EACCES, path


# -- fd/ and fdinfo/ -------------------------------------------------------------

def test_fd_links_name_what_the_sandbox_opened(procfs, kernel, tmp_path):
    r, w = os.pipe()
    kernel.give(3, r, OpenFile("pipe", path="pipe:[read]"))
    kernel.give(4, w, OpenFile("pipe", path="pipe:[write]"))
    kernel.give(5, os.open(tmp_path, os.O_RDONLY), OpenFile("host", path="host:[5]"))
    kernel.give(6, os.eventfd(0), OpenFile("eventfd", path="anon_inode:[eventfd]"))
    ino = os.fstat(r).st_ino
    assert procfs.lookup(f"{VPID}/fd/3").target == f"pipe:[{ino}]"
    assert procfs.lookup(f"{VPID}/fd/4").target == f"pipe:[{ino}]"
    assert procfs.lookup(f"{VPID}/fd/5").target == str(tmp_path)   # under the root "/"
    assert procfs.lookup(f"{VPID}/fd/6").target == "anon_inode:[eventfd]"
    assert [n for _i, _t, n in procfs.readdir(f"{VPID}/fd")] == [b"3", b"4", b"5", b"6"]
    assert errno_of(procfs.lookup, f"{VPID}/fd/7") == errno.ENOENT
    assert read(procfs, f"{VPID}/fdinfo/3").startswith(b"pos:\t0\nflags:\t0")


def test_a_passed_in_file_is_named_only_under_the_root(kernel, tmp_path):
    fs = ProcFilesystem(kernel, dir_fd, host_paths=[("/nonexistent-root", "/")])
    kernel.give(3, os.open(tmp_path, os.O_RDONLY), OpenFile("host", path="host:[3]"))
    assert fs.lookup(f"{VPID}/fd/3").target == "host:[3]"


def test_reopening_a_pipe_gives_the_same_pipe(procfs, kernel):
    r, w = os.pipe()
    kernel.give(3, r, OpenFile("pipe", path="pipe:[read]"))
    kernel.give(4, w, OpenFile("pipe", path="pipe:[write]"))
    res = procfs.lookup(f"{VPID}/fd/4").jump(os.O_WRONLY)
    try:
        os.write(res.fd, b"through proc")
        assert os.read(r, 100) == b"through proc"
    finally:
        os.close(res.fd)


def test_reopen_never_widens_a_passed_in_file(procfs, kernel, tmp_path):
    victim = tmp_path / "host-file"
    victim.write_bytes(b"keep")
    kernel.give(3, os.open(victim, os.O_RDONLY), OpenFile("host", path="host:[3]"))
    jump = procfs.lookup(f"{VPID}/fd/3").jump
    for flags in (os.O_RDWR, os.O_WRONLY, os.O_RDONLY | os.O_TRUNC):
        assert errno_of(jump, flags) == errno.EACCES
    res = jump(os.O_RDONLY)
    os.close(res.fd)
    assert victim.read_bytes() == b"keep"


def test_reopen_writes_go_through_the_mount(procfs, kernel, tmp_path):
    """A file of a read-only mount stays read-only when reopened for writing."""
    victim = tmp_path / "rootfs-file"
    victim.write_bytes(b"keep")
    root = kernel.vfs.mounts["/"]
    kernel.give(3, os.open(victim, os.O_RDONLY), OpenFile("file", path="/f", mount=root, rel="f"))
    jump = procfs.lookup(f"{VPID}/fd/3").jump
    assert errno_of(jump, os.O_RDWR) in (errno.EROFS, errno.ENOENT)
    assert victim.read_bytes() == b"keep"


def test_sockets_and_anon_inodes_cannot_be_reopened(procfs, kernel):
    import socket
    a, b = socket.socketpair()
    kernel.give(3, a.detach(), OpenFile("file", path="socket"))
    kernel.give(4, os.eventfd(0), OpenFile("eventfd", path="anon_inode:[eventfd]"))
    b.close()
    assert procfs.lookup(f"{VPID}/fd/3").target.startswith("socket:[")
    assert errno_of(procfs.lookup(f"{VPID}/fd/3").jump, os.O_RDONLY) == errno.ENXIO
    assert errno_of(procfs.lookup(f"{VPID}/fd/4").jump, os.O_RDONLY) == errno.ENXIO


# -- mounts ----------------------------------------------------------------------

def test_mounts_render_the_table(kernel, procfs):
    kernel.vfs.mount("/odd name", SyntheticFilesystem(listing({}), dir_fd), readonly=False)
    lines = render_mounts(kernel.vfs.initial).decode().splitlines()
    assert lines[1] == "proc /proc proc ro,nosuid,nodev,noexec,relatime 0 0"
    assert lines[2].split()[1] == "/odd\\040name"
    info = [line.split() for line in render_mountinfo(kernel.vfs.initial).decode().splitlines()]
    ids = {fields[4]: fields[0] for fields in info}
    assert [fields[1] for fields in info] == [ids["/"]] * 3    # all children of the root
    assert info[1][6:] == ["-", "proc", "proc", "ro"]
    assert read(procfs, f"{VPID}/mounts") == render_mounts(kernel.vfs.initial)


def test_mount_sources_outside_the_root_are_not_named(kernel, procfs):
    fs = SyntheticFilesystem(listing({}), dir_fd)
    kernel.vfs.mount("/data", fs, source="/var/lib/secret-volume")
    kernel.vfs.mount("/inside", fs, source="/bundle/rootfs/srv")
    sources = [line.split()[0] for line in render_mounts(kernel.vfs.initial, "/bundle/rootfs").splitlines()]
    assert sources[-2:] == [b"none", b"/srv"]
    info = render_mountinfo(kernel.vfs.initial, "/bundle/rootfs").decode()
    assert "secret-volume" not in info and " /srv " in info
    assert b"/var/lib/secret-volume" in render_mounts(kernel.vfs.initial, "/")   # do: the host root


# -- system files ----------------------------------------------------------------

@given(st.sets(st.integers(0, 300), min_size=1))
def test_cpu_lists_round_trip(cpus):
    assert hostinfo.parse_cpu_list(hostinfo.format_cpu_list(sorted(cpus))) == sorted(cpus)


def test_host_paths_translate_by_the_longest_prefix():
    paths = [("/bundle/rootfs", "/"), ("/home/u/data", "/data")]
    assert hostinfo.to_guest("/bundle/rootfs/usr/lib/x.so", paths) == "/usr/lib/x.so"
    assert hostinfo.to_guest("/bundle/rootfs", paths) == "/"
    assert hostinfo.to_guest("/home/u/data/f", paths) == "/data/f"
    assert hostinfo.to_guest("/home/u/data", paths) == "/data"
    assert hostinfo.to_guest("/home/u/database", paths) is None
    assert hostinfo.to_guest("/etc/shadow", paths) is None
    assert hostinfo.to_guest("/etc/shadow", [("/", "/")]) == "/etc/shadow"
    assert hostinfo.to_guest("/x", [("/", "/"), ("/x", "/mnt")]) == "/mnt"


def test_cpu_list_format():
    assert hostinfo.format_cpu_list([0, 1, 2, 3, 6, 8, 9]) == "0-3,6,8-9"


def test_cpus_honour_the_cpuset_and_quota(procfs, kernel):
    kernel.limits.cpuset = (1,)
    assert hostinfo.visible_cpus(kernel.limits) == [1]
    assert re.findall(rb"(?m)^processor\s*: (\d+)", read(procfs, "cpuinfo")) == [b"1"]
    cpu_lines = re.findall(rb"(?m)^cpu\d+ ", read(procfs, "stat"))
    assert cpu_lines == [b"cpu1 "]
    kernel.limits.cpuset, kernel.limits.cpus = None, 0.5
    assert len(hostinfo.visible_cpus(kernel.limits)) == 1


def test_meminfo_honours_the_memory_limit(procfs, kernel):
    kernel.limits.memory_bytes = 256 << 20
    values = dict(re.findall(rb"(?m)^(\w+):\s+(\d+) kB", read(procfs, "meminfo")))
    assert int(values[b"MemTotal"]) == 256 * 1024
    assert all(int(v) <= 256 * 1024 for v in values.values())
    assert 0 < int(values[b"MemFree"]) < 256 * 1024   # this process uses some of it


def test_loadavg_counts_the_sandbox(procfs):
    fields = read(procfs, "loadavg").split()
    assert fields[3:] == [b"1/1", str(VPID).encode()]


def test_sysctls(procfs, kernel):
    assert read(procfs, "sys/kernel/hostname") == b"sandbox-host\n"
    assert read(procfs, "sys/kernel/osrelease") == SANDBOX_RELEASE + b"\n"
    assert read(procfs, "sys/kernel/ostype") == b"Linux\n"
    assert read(procfs, "sys/kernel/ngroups_max") == b"65536\n"
    assert read(procfs, "sys/fs/nr_open").strip().isdigit()
    boot_id = read(procfs, "sys/kernel/random/boot_id")
    assert boot_id != open("/proc/sys/kernel/random/boot_id", "rb").read()
    kernel.sysctl["kernel.pid_max"] = "4096"
    kernel.sysctl["kernel.new.knob"] = "1"
    assert read(procfs, "sys/kernel/pid_max") == b"4096\n"
    assert read(procfs, "sys/kernel/new/knob") == b"1\n"


def test_net_without_a_network_is_loopback_only(procfs, kernel):
    assert procfs.lookup("net").target == "self/net"
    assert b"lo:" in read(procfs, f"{VPID}/net/dev")
    assert read(procfs, f"{VPID}/net/tcp").count(b"\n") == 1

    class Network:
        def proc_net(self, name):
            return f"from the network table: {name}\n".encode()

    kernel.network = Network()
    assert read(procfs, f"{VPID}/net/unix") == b"from the network table: unix\n"


# -- sysfs -----------------------------------------------------------------------

def test_sysfs_cpus(kernel):
    fs = SysFilesystem(kernel, dir_fd)
    assert read(fs, "devices/system/cpu/online").decode().strip() == \
        hostinfo.format_cpu_list(hostinfo.host_cpus())
    kernel.limits.cpuset = (0,)
    assert read(fs, "devices/system/cpu/online") == b"0\n"
    assert [n for _i, _t, n in fs.readdir("devices/system/cpu") if n.startswith(b"cpu")] == [b"cpu0"]
    assert fs.readdir("fs/cgroup") == []
    assert errno_of(fs.lookup, "class") == errno.ENOENT


# -- devfs -----------------------------------------------------------------------

def test_devfs_entries(kernel):
    fs = DevFilesystem(kernel, dir_fd)
    names = sorted(n.decode() for _i, _t, n in fs.readdir(""))
    assert names == sorted(["null", "zero", "full", "random", "urandom", "tty", "console",
                            "ptmx", "pts", "shm", "fd", "stdin", "stdout", "stderr"])
    assert fs.lookup("fd").target == "/proc/self/fd"
    assert fs.lookup("stderr").target == "/proc/self/fd/2"
    assert fs.readdir("shm") == []
    assert errno_of(fs.lookup, "sda") == errno.ENOENT
    fd = fs.lookup("zero", os.O_RDONLY).fd
    assert os.read(fd, 4) == b"\0" * 4
    os.close(fd)


def test_pts_shows_only_the_sandbox_ptys(kernel):
    fs = DevFilesystem(kernel, dir_fd, PtyTable())
    host_master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)   # a pty not the sandbox's
    try:
        assert os.path.exists(f"/dev/pts/{pty_number(host_master)}")
        assert errno_of(fs.lookup, f"pts/{pty_number(host_master)}") == errno.ENOENT
        master = fs.lookup("ptmx", os.O_RDWR).fd
        number = fs.ptys.sandbox_number(pty_number(master))
        assert number == 0   # the sandbox's own numbering, as a devpts of its own
        assert [n for _i, _t, n in fs.readdir("pts")] == [b"0"]
        fcntl.ioctl(master, 0x40045431, struct.pack("i", 0))   # unlockpt
        slave = fs.lookup(f"pts/{number}", os.O_RDWR).fd
        os.write(slave, b"hi\n")
        assert os.read(master, 100).startswith(b"hi")
        os.close(slave)
        os.close(master)
        assert fs.readdir("pts") == []
        assert errno_of(fs.lookup, f"pts/{number}") == errno.ENOENT
    finally:
        os.close(host_master)


def pty_number(master: int) -> int:
    return struct.unpack("I", fcntl.ioctl(master, 0x80045430, b"\0" * 4))[0]   # TIOCGPTN


def test_tty_without_a_terminal_is_enxio(kernel):
    fs = DevFilesystem(kernel, dir_fd)
    if os.path.exists("/proc/self/stat") and open("/proc/self/stat").read().rsplit(")", 1)[1].split()[4] != "0":
        pytest.skip("the tests run on a terminal; the sandbox's tty check needs none")
    assert errno_of(fs.lookup, "tty", os.O_RDWR) == errno.ENXIO
    assert statmod.S_ISCHR(fs.lookup("tty").stat.mode)
    assert fs.lookup("tty").stat.rdev == os.makedev(5, 0)


def test_fd_names_are_canonical_numbers(procfs, kernel):
    r, w = os.pipe()
    kernel.give(3, r, OpenFile("pipe"))
    kernel.give(4, w, OpenFile("pipe"))
    assert procfs.lookup(f"{VPID}/fd/3").target.startswith("pipe:[")
    for name in ("03", "+3", "3 ", "x", "-1"):
        assert errno_of(procfs.lookup, f"{VPID}/fd/{name}") == errno.ENOENT, name
    assert read(procfs, f"{VPID}/fdinfo/4").startswith(b"pos:\t0\nflags:\t01\n")


def test_smaps_translate_every_mapping_line(kernel):
    fs = ProcFilesystem(kernel, dir_fd, host_paths=[("/nonexistent-root", "/")])
    kernel.vfs.mount("/", SyntheticFilesystem(listing({}), dir_fd), readonly=True)
    smaps = read(fs, f"{VPID}/smaps").decode()
    assert "Rss:" in smaps
    assert not re.search(r"(?m)^[0-9a-f]+-[0-9a-f]+ .* /(?!memfd:)", smaps)
    assert read(fs, f"{VPID}/smaps_rollup").split(b"\n")[0].endswith(b"[rollup]")


def test_identity_maps_and_no_login(procfs):
    assert read(procfs, f"{VPID}/uid_map") == b"         0          0 4294967295\n"
    assert read(procfs, f"{VPID}/loginuid") == b"4294967295"
    assert read(procfs, "sys/kernel/core_pattern") == b"core\n"


def test_pid_names_are_canonical(procfs):
    for name in (f"0{VPID}", f"+{VPID}", f"{VPID} "):
        assert errno_of(procfs.lookup, name) == errno.ENOENT, name


PROC_NAMES = ["self", "thread-self", str(VPID), "8", "task", "fd", "fdinfo", "0", "3", "stat",
              "status", "maps", "smaps", "net", "dev", "tcp", "sys", "kernel", "fs", "random",
              "uuid", "mounts", "exe", "cwd", "root", "..", ".", "", "cpuinfo", "nosuch"]


@given(names=st.lists(st.sampled_from(PROC_NAMES), max_size=6),
       flags=st.sampled_from([-1, os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC,
                              os.O_RDONLY | os.O_DIRECTORY, os.O_PATH]))
def test_any_walk_answers_with_an_errno_at_worst(names, flags):
    """Whatever path the workload sends, procfs answers or fails with an errno
    (SyscallError, or OSError from a host call, which dispatch translates)."""
    kernel = StandInKernel()
    r, w = os.pipe()
    kernel.give(0, r, OpenFile("pipe"))
    kernel.give(3, w, OpenFile("host"))
    fs = ProcFilesystem(kernel, dir_fd)
    kernel.vfs.mount("/", SyntheticFilesystem(listing({}), dir_fd), readonly=True)
    kernel.vfs.mount("/proc", fs, readonly=True)
    try:
        try:
            res = fs.lookup("/".join(n for n in names if n not in ("", ".", "..")), flags)
            if res.fd is not None:
                os.close(res.fd)
            if res.jump is not None:
                jumped = res.jump(flags)
                if jumped.fd is not None:
                    os.close(jumped.fd)
        except (SyscallError, OSError):
            pass
        path = "/".join(n for n in names if n not in ("", ".", ".."))
        try:
            fs.readdir(path)
        except (SyscallError, OSError):
            pass
    finally:
        for fd in kernel.host_fds.values():
            os.close(fd)


def test_links_are_named_from_the_readers_root(procfs, kernel):
    kernel.process.fs.cwd = "/jail/work"
    kernel.process.exe = "/jail/bin/prog"
    kernel.process.fs.root = "/jail"
    assert procfs.lookup(f"{VPID}/cwd").target == "/work"
    assert procfs.lookup(f"{VPID}/exe").target == "/bin/prog"
    assert procfs.lookup(f"{VPID}/root").target == "/"
    kernel.process.fs.cwd = "/elsewhere"
    assert procfs.lookup(f"{VPID}/cwd").target == "/elsewhere"


def test_magic_links_work_for_a_chrooted_caller(kernel):
    """chroot fences "/" and "..", but, unlike openat2's scopes, not magic links."""
    root = SyntheticFilesystem(listing({"jail": listing({"proc": listing({})})}), dir_fd)
    kernel.vfs.mount("/", root, readonly=True)
    kernel.vfs.mount("/jail/proc", ProcFilesystem(kernel, dir_fd), readonly=True)
    kernel.vfs.caller_root = lambda: "/jail"
    r, w = os.pipe()
    kernel.give(3, r, OpenFile("pipe"))
    kernel.give(4, w, OpenFile("pipe"))
    res = kernel.vfs.resolve("/", "/proc/self/fd/4", open_flags=os.O_WRONLY)
    try:
        os.write(res.fd, b"x")
        assert os.read(r, 1) == b"x"
    finally:
        os.close(res.fd)
