"""The sandbox process of one container: it becomes the container's sentry.

`runsc-py create` forks this process and writes its pid as the
container's: it lives as long as the workload and exits with the
workload's status (code, or 128+signal), so an engine's shim (a child
subreaper) reaps it as it would runc's init. Its life:

1. boot: load the sentry while `create` parses, reads the spec and makes
   the cgroup (cli/early.py), move into the cgroup, join the network
   namespace the spec names by path or make the new one it asks for
   (this process's pid is the one hooks and engines inspect, so
   /proc/PID/ns/net must be the container's), fork the gofer on the
   rootfs, build the VFS,
   create the Kernel from the spec, and spawn init, which stays stopped at
   its first exec (its host root already the read-only rootfs);
2. created: serve the control socket until `start` (or a kill);
3. running: the sentry's event loop, with the control socket watched.

Fds 0-2 are the container's stdio (the engine's pipes), passed to the
workload untouched; the sandbox's own diagnostics go to the `--log` file.
"""
from __future__ import annotations

import contextlib
import errno
import gc
import os
import select
import signal
import sys

from runsc_py.oci.cgroup import Cgroup
from runsc_py.oci.log import Log
from runsc_py.oci.spec import ContainerSpec
from runsc_py.sandbox import control

# Signals whose default action is to do nothing: a kill with one before
# start changes nothing, as for runc's waiting init.
HARMLESS = frozenset({signal.SIGCHLD, signal.SIGCONT, signal.SIGURG, signal.SIGWINCH})
CLONE_NEWNET = 0x40000000


class Sandbox:
    def __init__(self, spec: ContainerSpec, cid: str, control_path: str, flags, log: Log):
        self.spec = spec
        self.id = cid
        self.control_path = control_path
        self.flags = flags
        self.log = log
        self.kernel = None
        self.init_pid = 0
        self.gofer_pid = 0
        self.gofer_sock = None
        self.listener = None
        self.started = False
        self.exit_now: int | None = None   # set when killed before start
        self.execs: dict[int, object] = {}  # host pid of an exec'd process -> its waiter's socket
        self.exec_hosts: dict[object, int] = {}  # its Process -> host pid

    # -- 1. boot -------------------------------------------------------------

    def boot(self, cgroup_path: str) -> None:
        from runsc_py.platform.spawner import Spawner
        from runsc_py.sandbox.gofer import gofer_roots, start_gofer
        from runsc_py.sentry.confinement import fence_off_host_processes

        spec = self.spec
        Cgroup(cgroup_path).join_self()   # before anything is forked: gofer, init
        if spec.netns_path:
            join_network_namespace(spec.netns_path)
        elif spec.netns_new:
            new_network_namespace()
        container_network = self._container_network()
        raw_sockets = self._raw_sockets(container_network)
        if container_network:
            configure_container_network(spec.sysctl)
        if spec.process.oom_score_adj is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(spec.process.oom_score_adj))
        # root.readonly: the rootfs read-only (EROFS); otherwise --overlay decides:
        # none (default) writes the rootfs, the container's own (engines give each
        # a private overlayfs, and docker cp/diff/commit read it), as runc does;
        # memory keeps the changes in the sentry.
        overlay = "none" if spec.root_readonly else (self.flags.overlay or "none")
        root_readonly = spec.root_readonly or overlay == "memory"
        # The gofer first, outside the sentry's Landlock domain (out of its
        # reach: sandbox/gofer.py); then the domain; then the spawner, in it,
        # before the sentry's modules are loaded (platform/spawner.py).
        self.gofer_pid, self.gofer_sock = start_gofer(
            gofer_roots(spec.root_path, root_readonly, spec.mounts))
        fence_off_host_processes()
        spawner = Spawner.fork()

        from runsc_py import platform
        from runsc_py.sentry.mounts import build_vfs
        from runsc_py.gofer.client import GoferClient
        from runsc_py.sentry.kernel import Kernel
        from runsc_py.sentry.vfs import VFS
        from runsc_py.syscalls.table import TABLE

        gofer_sock = self.gofer_sock
        interposer = platform.create(self.flags.platform)
        interposer.spawner = spawner   # init comes from it too (platform/spawner.py)
        if spec.seccomp is not None:
            from runsc_py._interpose import lib
            from runsc_py.oci.seccomp import compile_profile

            interposer.profile_bpf = compile_profile(spec.seccomp, (lib.RP_NR_INSTALL,))
        kernel = Kernel(interposer, VFS(), TABLE,
                        hostname=spec.hostname or "runsc-py", strace=_strace(self.flags, TABLE),
                        gofer_socket=gofer_sock)
        kernel.domainname = spec.domainname or "(none)"
        kernel.network_factory = _network_factory(
            kernel, self.flags, network_mode(self.flags, spec), container_network, raw_sockets)
        kernel.limits = spec.limits
        if spec.id_mappings is not None:
            from runsc_py.sentry.idmap import IdMap, IdMappings

            kernel.id_mappings = IdMappings(*(IdMap(r) for r in spec.id_mappings))
        kernel.sysctl = dict(spec.sysctl)
        if container_network:  # Linux's defaults, which the sentry applies
            for name, value in SENTRY_DECIDES.items():
                kernel.sysctl.setdefault(name, value)
        # runc writes linux.sysctl after setting the names: kernel.hostname and
        # kernel.domainname there are the names (the sentry's, /proc/sys shows them)
        kernel.hostname = kernel.sysctl.get("kernel.hostname", kernel.hostname)
        kernel.domainname = kernel.sysctl.get("kernel.domainname", kernel.domainname)
        build_vfs(GoferClient(gofer_sock), kernel, overlay, spec.mounts,
                  masked=spec.masked_paths, readonly_paths=spec.readonly_paths,
                  root_readonly=root_readonly, root_propagation=spec.rootfs_propagation,
                  devices=spec.devices)
        self._check_cwd(kernel)
        self.kernel = kernel
        kernel.on_process_exit = self._exec_exited
        kernel.init_protected = True   # a container's init, as runc's: Linux's pid-1 signal rule
        stdio = self._console(spec.process.console_size) if spec.process.terminal else None
        try:
            self.init_pid = kernel.spawn(list(spec.process.args), spec.process.env,
                                         spec.process.cwd, root=spec.root_path,
                                         creds=self._creds(spec.process.user),
                                         stdio=stdio, ctty=stdio is not None,
                                         rlimits=self._host_rlimits())
        finally:
            if stdio is not None:
                os.close(stdio[0])
        if spec.process.user.umask is not None:
            kernel.tasks.init.fs.umask = spec.process.user.umask
        self._sandbox_rlimits()
        self.listener = control.listen(self.control_path)
        # Processes started from now on (exec) come from the spawner: the
        # sentry's filter, loaded next, would be theirs too.
        interposer.start_spawner(spawner)
        from runsc_py.sentry import bugs, confinement

        bugs.use_log(self.log.path)
        self.log.hold()
        bugs.arm_test_hook(TABLE, getattr(self.flags, "debug", False))
        confinement.confine(interposer, getattr(self.flags, "debug", False),
                            extra=(confinement.CAP_NET_RAW,) if raw_sockets else (),
                            gofer_socket=gofer_sock, workload_pid=self.init_pid)

    def _container_network(self) -> bool:
        """Whether the workload's network is a namespace that is the
        container's own (network_mode "host", with a spec's network entry)."""
        spec = self.spec
        return bool(spec.netns_path or spec.netns_new) and network_mode(self.flags, spec) == "host"

    def _raw_sockets(self, container_network: bool) -> bool:
        """Whether the sentry makes raw sockets for the workload: in the
        container's own namespace, when the spec's bounding set has
        CAP_NET_RAW (docker's default does) for some process to use."""
        caps = self.spec.process.capabilities   # (None: root's every capability, as runc)
        return container_network and (caps is None or "CAP_NET_RAW" in caps.bounding)

    def _console(self, size, console: int | None = None) -> tuple[int, int, int]:
        """A pty: the master goes to the console socket (`--console-socket`'s
        path at boot, an exec's connection to it), the slave is returned as
        stdio."""
        from runsc_py.oci.console import open_console, send_master

        master, slave = open_console(size)
        if self.kernel is not None:
            self.kernel.ptys.adopt(slave)   # the sandbox's own: /dev/tty and /dev/pts show it
        try:
            send_master(self.flags.console_socket if console is None else console, master)
        except BaseException:
            os.close(slave)
            raise
        finally:
            os.close(master)
        return (slave, slave, slave)

    def _check_cwd(self, kernel) -> None:
        from runsc_py.sentry.errors import SyscallError

        try:
            kernel.vfs.resolve("/", self.spec.process.cwd)
        except SyscallError as exc:
            raise RuntimeError(f"process.cwd {self.spec.process.cwd!r} does not exist in the "
                               f"rootfs ({os.strerror(exc.errno)}); the rootfs is read-only, "
                               "so create it in the image") from None

    def _creds(self, u):
        """process.user and process.capabilities (absent: Linux's defaults for the uid)."""
        from runsc_py.sentry.credentials import Credentials, capability_mask

        caps = self.spec.process.capabilities
        sets = {} if caps is None else dict(
            cap_effective=capability_mask(caps.effective), cap_permitted=capability_mask(caps.permitted),
            cap_inheritable=capability_mask(caps.inheritable),
            cap_bounding=capability_mask(caps.bounding), cap_ambient=capability_mask(caps.ambient))
        return Credentials(uid=u.uid, euid=u.uid, suid=u.uid, fsuid=u.uid,
                           gid=u.gid, egid=u.gid, sgid=u.gid, fsgid=u.gid,
                           groups=tuple(u.additional_gids),
                           no_new_privs=self.spec.process.no_new_privileges, **sets)

    def _host_rlimits(self) -> list[tuple[int, int, int]]:
        """process.rlimits the host keeps, exactly as given, for init to set
        before it drops its privileges. A value the host would refuse fails
        create, naming it, as runc's does (rootful podman's default
        RLIMIT_NOFILE=1048576 is fs.nr_open: given as asked where root holds
        CAP_SYS_RESOURCE, refused where it does not)."""
        from runsc_py.sentry.limits import SANDBOX_RLIMITS

        out = []
        privileged = _has_capability(CAP_SYS_RESOURCE)
        for rl in self.spec.process.rlimits:
            if rl.resource in SANDBOX_RLIMITS:
                continue
            ceiling = _host_rlimit_ceiling(rl.resource, privileged)
            if rl.hard > ceiling:
                raise RuntimeError(f"process.rlimits {rl.name}={rl.soft}:{rl.hard}: this host "
                                   f"allows at most {ceiling}")
            out.append((rl.resource, rl.soft, rl.hard))
        return out

    def _sandbox_rlimits(self) -> None:
        """process.rlimits the sentry keeps (RLIMIT_CORE, RLIMIT_NPROC; the
        host's core limit stays 1 byte), and RLIMIT_NOFILE as the fd table's."""
        from runsc_py.sentry.limits import RLIMIT_NOFILE, SANDBOX_RLIMITS

        init = self.kernel.tasks.init
        for rl in self.spec.process.rlimits:
            if rl.resource in SANDBOX_RLIMITS:
                init.rlimits[rl.resource] = (rl.soft, rl.hard)
            elif rl.resource == RLIMIT_NOFILE:   # (as prlimit64 sets it: syscalls/process.py)
                init.fds.limit = min(rl.soft, 1 << 20)

    # -- 2. created -----------------------------------------------------------

    def wait_for_start(self, start_fd: int = -1) -> bool:
        """Serve the CLI until `start` (True) or a kill ends the container (False).

        `start` is a control request (`runsc-py start`), or a byte on
        `start_fd` from `run`, this process's parent (cli/early.py): the
        control socket loads json at its first request, ~3 ms `run` would
        wait for. The pipe's end without a byte means `create` is done:
        `start` will come to the socket, so json is loaded now."""
        watched = [self.listener] + ([start_fd] if start_fd >= 0 else [])
        while not self.started and self.exit_now is None:
            readable, _, _ = select.select(watched, [], [])
            if start_fd in readable:
                self.started = os.read(start_fd, 1) != b""
                watched.remove(start_fd)
                if not self.started:
                    control.preload()
            if self.listener in readable:
                control.serve_one(self.listener, self._handle)
        if start_fd >= 0:
            os.close(start_fd)
        return self.started

    # -- 3. running -----------------------------------------------------------

    def run(self) -> int:
        from runsc_py.sandbox.status import exit_code

        self.listener.setblocking(False)
        self.kernel.platform.watch(self.listener.fileno(),
                                   lambda _events: control.serve_one(self.listener, self._handle))
        status = self.kernel.serve()
        return exit_code(status)

    # -- requests from the CLI --------------------------------------------------

    def _handle(self, req: dict, fds: list[int], conn) -> dict:
        op = req.get("op")
        if op == "exec":
            return self._exec(req, fds, conn)
        for fd in fds:
            os.close(fd)
        if op == "signal-exec":
            pid = int(req["pid"])
            if pid in self.execs:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, int(req["signal"]))
            return {}
        if op == "start":
            if self.started:
                raise RuntimeError("the container has already started")
            self.started = True
            return {}
        if op == "kill":
            self._kill(int(req["signal"]), bool(req.get("all")))
            return {}
        if op == "ps":
            return {"pids": self._host_pids()}
        if op == "update":
            self._update(req.get("limits", {}))
            return {}
        raise RuntimeError(f"unknown control request {op!r}")

    def _exec(self, req: dict, fds: list[int], conn) -> dict:
        """Start an OCI exec process; its waiter's connection stays open."""
        from runsc_py.oci.spec import _process

        try:
            if not self.started or self.kernel.exit_status is not None:
                raise RuntimeError("the container is not running")
            if len(fds) not in (3, 4):
                raise RuntimeError("exec needs the process's stdin, stdout and stderr")
            process = _process(req.get("process"))
            stdio = tuple(fds[:3])
            if process.terminal:
                if len(fds) != 4:
                    raise RuntimeError("exec --tty needs --console-socket")
                stdio = self._console(process.console_size, fds[3])
            creds = self._creds(process.user)
            try:
                proc = self.kernel.spawn_joined(list(process.args), process.env, process.cwd,
                                                creds, stdio, ctty=process.terminal)
            finally:
                if process.terminal:
                    os.close(stdio[0])
        finally:
            for fd in fds:
                os.close(fd)
        host = self.kernel.tasks.host_pid_of(proc.vpid)
        self.execs[host] = conn
        self.exec_hosts[proc] = host
        conn.setblocking(False)
        self.kernel.platform.watch(conn.fileno(), lambda _ev: self._waiter_gone(host))
        return {control.KEEP: True, "pid": host}

    def _waiter_gone(self, host: int) -> None:
        """The waiter's connection became readable: it only ever closes (SIGKILL)."""
        conn = self.execs.pop(host, None)
        if conn is None:
            return
        self.kernel.platform.unwatch(conn.fileno())
        conn.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(host, signal.SIGKILL)

    def _exec_exited(self, proc, status: int) -> None:
        """Kernel.on_process_exit: tell an exec'd process's waiter its status."""
        from runsc_py.sandbox.status import exit_code

        host = self.exec_hosts.pop(proc, None)
        conn = self.execs.pop(host, None) if host is not None else None
        if conn is None:
            return
        self.kernel.platform.unwatch(conn.fileno())
        with contextlib.suppress(OSError):
            conn.setblocking(True)
            control.send_line(conn, {"exit": exit_code(status)})
        conn.close()

    def _kill(self, sig: int, everyone: bool) -> None:
        if not self.started:
            if sig == 0 or sig in HARMLESS:
                return
            self.exit_now = 128 + sig   # init never ran: it dies as runc's waiting init would
            os.kill(self.init_pid, signal.SIGKILL)
            return
        kernel = self.kernel
        targets = self._host_pids() if everyone else []
        init_host = kernel.init_host()
        for pid in targets:
            if pid != init_host:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        kernel.signal_init(sig)

    def _host_pids(self) -> list[int]:
        if self.kernel is None or not self.started:
            return [self.init_pid]
        tasks = self.kernel.tasks
        return sorted(p for p in (tasks.host_pid_of(v) for v in list(tasks.processes)) if p)

    def _update(self, limits: dict) -> None:
        for key, value in limits.items():
            if hasattr(self.kernel.limits, key):
                setattr(self.kernel.limits, key, tuple(value) if isinstance(value, list) else value)


def _has_capability(cap: int) -> bool:
    with open("/proc/self/status") as f:
        cap_eff = int(next(line for line in f if line.startswith("CapEff:")).split()[1], 16)
    return bool(cap_eff >> cap & 1)


def _host_rlimit_ceiling(resource_nr: int, privileged: bool) -> int:
    """The highest hard limit init may set: with CAP_SYS_RESOURCE (`privileged`)
    the kernel's own bound (fs.nr_open for RLIMIT_NOFILE, none else),
    without it the hard limit this process has."""
    import resource

    if privileged:
        if resource_nr == resource.RLIMIT_NOFILE:
            with open("/proc/sys/fs/nr_open") as f:
                return int(f.read())
        return (1 << 64) - 1
    hard = resource.getrlimit(resource_nr)[1]
    return (1 << 64) - 1 if hard == resource.RLIM_INFINITY else hard


def network_mode(flags, spec) -> str:
    """--network, or a container's default: its network as runc gives it,
    with --network=host's mechanics (the sentry's host sockets, made in its
    own namespace): the namespace the spec names (one an engine or CNI
    configures: joined by path, or made new for its hooks), or, with no
    network entry (docker --network=host), the caller's (docs/architecture.md,
    "OCI runtime", "Namespaces"). --egress and --publish shape the
    sentry's own network, which they then give."""
    if flags.network is not None:
        return flags.network
    return "sandbox" if flags.egress or flags.publish else "host"


def _network_factory(kernel, flags, mode: str, containers_namespace: bool = False,
                     raw_sockets: bool = False):
    """The network table's factory. --egress and --publish are checked (and
    published ports listen) now, so a bad flag fails `create`; without them
    nothing of the network, not even its package, is loaded before the first
    socket call (the table is anyway: see sentry/net/factory.py)."""
    if flags.egress or flags.publish:
        from runsc_py.sentry.net.config import config_from_flags
        from runsc_py.sentry.net.factory import network_factory

        return network_factory(kernel, config_from_flags(mode, flags.egress or [],
                                                         flags.publish or []))

    def build():
        from runsc_py.sentry.net.config import config_from_flags
        from runsc_py.sentry.net.factory import network_factory

        config = config_from_flags(mode, [], [])
        config.containers_namespace, config.raw_sockets = containers_namespace, raw_sockets
        return network_factory(kernel, config)()

    return build


def _strace(flags, table):
    if not (getattr(flags, "strace", False) or getattr(flags, "strace_log", None)):
        return None   # (--strace-log alone asks for the trace too)
    from runsc_py.syscalls.strace import Strace

    out = open(flags.strace_log, "a") if flags.strace_log else sys.stderr
    return Strace(out, table)


def sandbox_main(spec: ContainerSpec, cid: str, control_path: str, cgroup_path: str,
                 flags, log: Log, ready_fd: int, start_fd: int = -1) -> None:
    """The forked sandbox process; never returns. It boots in the cgroup at
    `cgroup_path` (made and limited by `create`), says "ok" or why not on
    `ready_fd`, and starts when asked on its control socket or `start_fd`
    (`run`'s: cli/early.py)."""
    code = 1
    sandbox = None
    try:
        if log.path:
            sys.stderr = open(log.path, "a", buffering=1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if spec.process.terminal:
            _release_stdio()
        sandbox = Sandbox(spec, cid, control_path, flags, log)
        try:
            sandbox.boot(cgroup_path)
        except Exception as exc:  # noqa: BLE001 - the reason goes back to `create`
            os.write(ready_fd, f"error: {_reason(exc)}\n".encode())
            raise SystemExit(1)
        os.write(ready_fd, b"ok\n")
        os.close(ready_fd)
        gc.freeze()   # start-up's objects live as long as the sandbox: never traverse them
        gc.enable()   # (off since the fork: cli/early.py)
        if sandbox.wait_for_start(start_fd):
            code = sandbox.run()
        else:
            _reap(sandbox.init_pid)
            code = sandbox.exit_now or 137
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001 - never return into the CLI
        log.error(f"sandbox {cid}: {_reason(exc)}")
    finally:
        if sandbox is not None:
            _end_helpers(sandbox)
        os._exit(code)


def _end_helpers(sandbox: Sandbox) -> None:
    """End the gofer (hung up on) and the spawner (killed), then reap them:
    both at once, as each one's exit takes a while (~0.7 ms here: a mount
    namespace torn down). Reaped before this process exits, so the cgroup is
    empty by the time `delete` (or the engine) has reaped the sandbox and
    removes it."""
    ending = []
    if sandbox.gofer_pid:
        sandbox.gofer_sock.close()   # sandbox/gofer.py, stop_gofer: how it ends
        ending.append(sandbox.gofer_pid)
    spawner = sandbox.kernel.platform.spawner if sandbox.kernel is not None else None
    if spawner is not None:
        spawner.stop()
        ending.append(spawner.pid)
    for pid in ending:
        _reap(pid)


def join_network_namespace(path: str) -> None:
    """linux.namespaces' network path: the namespace an engine made for the
    container (dockerd's, podman's, a Kubernetes pod's). The sandbox process
    moves into it before it makes any socket, so the host sockets the sentry
    makes there (`--network=host`'s, egress, published ports, rtnetlink
    reads) are the container's; the workload keeps its own empty namespace."""
    from runsc_py._interpose import lib

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise RuntimeError(f"linux.namespaces: cannot open the network namespace {path}: "
                           f"{exc.strerror}") from None
    try:
        rc = lib.rp_setns(fd, CLONE_NEWNET)
    finally:
        os.close(fd)
    if rc < 0:
        why = "not a network namespace" if rc == -errno.EINVAL else os.strerror(-rc)
        raise RuntimeError(f"linux.namespaces: cannot join the network namespace {path}: {why}")


def new_network_namespace() -> None:
    """linux.namespaces' network entry without a path (dockerd's default
    bridge, podman's, a plain `runc run`): a new namespace, as runc makes.

    The sandbox process moves into it before it makes any socket or forks
    anything. Its pid is the container's (`state`, `--pid-file`), so the
    hooks that configure /proc/PID/ns/net (libnetwork's, CNI's) configure
    this namespace, never the host's; and the sentry's host sockets
    (`--network=host`'s, egress, `--publish`, rtnetlink reads) live here.
    `lo` is brought up, as runc's "loopback" network does."""
    from runsc_py._interpose import lib

    rc = lib.rp_unshare_net()
    if rc < 0:
        raise RuntimeError("linux.namespaces: cannot make a new network namespace: "
                           f"{os.strerror(-rc)} (runsc-py must run as root to make one; "
                           "remove the network entry to stay in the caller's)")


UNPRIVILEGED_PORT_START = "net.ipv4.ip_unprivileged_port_start"
CAP_SYS_RESOURCE = 24
PING_GROUP_RANGE = "net.ipv4.ping_group_range"
# what the sentry applies to the workload's callers itself, the namespace's own
# value being the sentry's (sentry/net/stack.py: bind, socket)
SENTRY_DECIDES = {UNPRIVILEGED_PORT_START: "1024", PING_GROUP_RANGE: "1\t0"}


def configure_container_network(sysctl: dict[str, str]) -> None:
    """The container's namespace is the workload's network (network_mode):
    the spec's net.* sysctls are written there, as runc writes them. Its
    ports are all bindable without a capability there, since the sentry
    binds for the workload (sentry/net/stack.py) and keeps no
    CAP_NET_BIND_SERVICE, and ICMP sockets may be made by the sentry's
    gid; the sandbox's own ip_unprivileged_port_start and
    ping_group_range (the spec's, or Linux's) are what the sentry applies
    to the workload's callers, by their sandbox credentials."""
    for name, value in sysctl.items():
        if name.startswith("net.") and name not in SENTRY_DECIDES:
            _write_sysctl(name, value)
    _write_sysctl(UNPRIVILEGED_PORT_START, "0")
    _write_sysctl(PING_GROUP_RANGE, "0 0")   # the sentry's gid: it makes the ICMP sockets


def _write_sysctl(name: str, value: str) -> None:
    try:
        with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
            f.write(value)
    except OSError as exc:
        raise RuntimeError(f"linux.sysctl: cannot set {name} in the container's network "
                           f"namespace: {exc.strerror}") from None


def _release_stdio() -> None:
    """With a terminal the workload's stdio is the pty: let go of the caller's.

    go-runc reads `runc create`'s output until EOF when there is a console,
    so the sandbox must not keep those pipes open (runc's init does the same)."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _reason(exc: BaseException) -> str:
    """One line: an OSError's own words (ours carry what failed), else the message."""
    if isinstance(exc, OSError) and len(exc.args) >= 2:
        return str(exc.args[1]) + (f": {exc.filename}" if exc.filename else "")
    return (str(exc) or type(exc).__name__).replace("\n", " ")


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)

