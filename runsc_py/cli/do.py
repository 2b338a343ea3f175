"""`runsc-py do -- CMD`: sandbox a command with the host's root as its read-only root.

Three processes: this one becomes the sentry; the gofer (forked first, so
it shares this interpreter's pages) serves the host root read-only; the
workload runs under the platform, in a session of its own. The caller's
stdio is passed through as the same open file descriptions, so `cmd >f
2>&1` keeps every line; on a terminal, the workload gets a pty of the
sandbox's relayed to it instead (cli/terminal.py).
"""
from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import sys

from runsc_py._interpose import lib
from runsc_py.cli.terminal import TerminalRelay, caller_owns_terminal
from runsc_py.gofer.client import GoferClient
from runsc_py.sandbox.gofer import gofer_roots, start_gofer, stop_gofer
from runsc_py.sandbox.status import exit_code
from runsc_py.sentry import cpus
from runsc_py.sentry.credentials import Credentials
from runsc_py.sentry.limits import parse_size
from runsc_py.sentry.mounts import build_vfs
from runsc_py.sentry.mountspec import MountError, MountSpec
from runsc_py.sentry.vfs import VFS


def run_do(args) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        sys.stderr.write("runsc-py do: no command given (usage: runsc-py do -- CMD [ARGS...])\n")
        return 2
    args.overlay = args.overlay or "memory"   # the host's root is never written
    try:
        start = _start_as(args)
        faults = _faults(args)
    except ValueError as exc:
        sys.stderr.write(f"runsc-py do: {exc}\n")
        return 2
    try:
        mounts = do_mounts(args.volume, args.tmpfs)
    except MountError as exc:
        sys.stderr.write(f"runsc-py do: {exc}\n")
        return 2
    from runsc_py.sentry.confinement import fence_off_host_processes

    try:
        cgroup = _resource_cgroup(args)
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"runsc-py do: --memory/--cpus: {exc}\n")
        return 2
    gofer_pid, gofer_sock = start_gofer(gofer_roots("/", True, mounts))
    try:
        fence_off_host_processes()   # after the gofer (out of its reach), before the workload
        return _run_sentry(args, argv, gofer_sock, mounts, cgroup, start, faults)
    finally:
        stop_gofer(gofer_pid, gofer_sock)


def _start_as(args) -> dict:
    """--user and --file-size-limit: Kernel.spawn's creds and rlimits."""
    start = {}
    try:
        if args.user is not None:
            start["creds"] = Credentials.for_user(*Credentials.parse_ids(args.user))
    except ValueError as exc:
        raise ValueError(f"--user: {exc}") from None
    try:
        if args.file_size_limit is not None:
            size = parse_size(args.file_size_limit)
            start["rlimits"] = [(resource.RLIMIT_FSIZE, size, size)]
    except ValueError as exc:
        raise ValueError(f"--file-size-limit: {exc}") from None
    return start


def _faults(args):
    """--inject's rules (syscalls/faults.py), or None."""
    if not args.inject:
        return None
    from runsc_py.syscalls.faults import Faults
    from runsc_py.syscalls.table import TABLE

    return Faults(args.inject, TABLE, args.seed)


def _resource_cgroup(args):
    """--memory and --cpus: a cgroup of its own for the whole sandbox (this
    process, the gofer and the workload, which start inside it), or None.
    The sentry confines itself and can then neither read the cgroup nor
    remove it: its OOM counter is opened now, and a watcher forked before
    it joins removes the cgroup when this process is gone."""
    if args.memory is None and args.cpus is None:
        return None
    from runsc_py.oci.cgroup import Cgroup
    from runsc_py.oci.spec import CgroupSettings
    from runsc_py.sentry.limits import SandboxLimits

    period = 100_000
    limits = SandboxLimits(memory_bytes=parse_size(args.memory) if args.memory else None,
                           swap_bytes=0 if args.memory else None, cpus=args.cpus)
    settings = CgroupSettings(quota=int(args.cpus * period) if args.cpus else None,
                              period=period if args.cpus else None)
    cgroup = Cgroup(f"/runsc-py/do-{os.getpid()}")
    cgroup.create()
    try:
        cgroup.apply(limits, settings)
    except Exception:
        cgroup.destroy()
        raise
    _remove_when_gone(cgroup)
    cgroup.join_self()
    cgroup.oom_counter = os.open(cgroup.oom_events_path(), os.O_RDONLY | os.O_CLOEXEC)
    return cgroup


CGROUP_WATCHER = "runsc-py-cgwait"   # (15 bytes at most)


def _remove_when_gone(cgroup) -> None:
    """Fork a process outside the cgroup that removes it once we are gone
    (the end of a pipe only we hold), whatever way we end."""
    ours, theirs = os.pipe()
    if os.fork() == 0:
        try:
            with open("/proc/self/comm", "w") as comm:   # what `ps` shows: not a sandbox part
                comm.write(CGROUP_WATCHER)
            os.close(theirs)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, ours)
            os.closerange(ours + 1, os.sysconf("SC_OPEN_MAX"))
            os.setsid()
            os.read(ours, 1)
            cgroup.destroy()
        finally:
            os._exit(0)
    os.close(ours)
    os.set_inheritable(theirs, False)   # (ours alone: nothing we start holds it)


def do_mounts(volumes: list[str], tmpfs: list[str]) -> list[MountSpec]:
    """--volume SRC:DST[:ro] and --tmpfs DST as OCI mount entries, checked."""
    mounts = []
    for volume in volumes:
        parts = volume.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise MountError(f"--volume {volume!r}: expected SRC:DST or SRC:DST:ro")
        options = ("rbind", parts[2] if len(parts) == 3 else "rw")
        mounts.append(MountSpec(parts[1], "bind", os.path.abspath(parts[0]), options))
    mounts += [MountSpec(dst, "tmpfs", "tmpfs", ("nosuid", "nodev")) for dst in tmpfs]
    for spec in mounts:
        spec.check()
    return mounts


def _run_sentry(args, argv: list[str], gofer_sock: socket.socket, mounts: list[MountSpec],
                cgroup=None, start: dict | None = None, faults=None) -> int:
    from runsc_py import platform
    from runsc_py.sentry import bugs, confinement
    from runsc_py.sentry.kernel import Kernel
    from runsc_py.sentry.net import etcfiles
    from runsc_py.sentry.net.config import config_from_flags
    from runsc_py.sentry.net.factory import network_factory
    from runsc_py.syscalls.report import CompatReport
    from runsc_py.syscalls.table import TABLE

    strace_out = None
    strace = None
    if args.strace or args.strace_log:   # --strace-log alone asks for the trace too
        from runsc_py.syscalls.strace import Strace

        strace_out = open(args.strace_log, "w") if args.strace_log else sys.stderr
        strace = Strace(strace_out, TABLE)
    report = CompatReport(TABLE)
    report_out = open(args.report_file, "w") if args.report_file else sys.stderr   # before confining
    if args.report or args.report_file:
        TABLE.load_names()   # read at the end, when the sentry can no longer import them
    shown = os.sched_getaffinity(0)
    pin = _pin_cpu(args, shown)
    if pin is not None:
        os.sched_setaffinity(0, {pin})   # the gofer follows (gofer/server.py), init starts there
    kernel = Kernel(platform.create(args.platform, pin_cpu=pin), VFS(), TABLE,
                    strace=strace, report=report, gofer_socket=gofer_sock)
    kernel.faults = report.faults = faults
    if pin is not None:
        kernel.cpus_shown, kernel.nr_cpu_ids = frozenset(shown), cpus.possible_count()
        kernel.cpu_mask_size = max(lib.rp_cpumask_size(), 8)   # (-errno: a long)
    kernel.limits.pids = args.pids_limit
    build_vfs(GoferClient(gofer_sock), kernel, args.overlay, mounts)
    try:
        network = config_from_flags(args.network or "sandbox", args.egress or [],
                                    args.publish or [])
        kernel.network_factory = network_factory(kernel, network)
        if args.overlay == "memory":
            etcfiles.provide(kernel, network)
    except ValueError as exc:
        sys.stderr.write(f"runsc-py: {exc}\n")
        return 2
    relay = TerminalRelay(kernel) if caller_owns_terminal() else None
    try:
        kernel.spawn(argv, dict(os.environ), _guest_cwd(),
                     stdio=relay.stdio() if relay else None, ctty=relay is not None,
                     **(start or {}))
        forwarding = forward_signals(kernel, relay)  # noqa: F841 - open while the loop runs
        if relay is not None:
            relay.start()
        bugs.use_log(getattr(args, "log", None))
        bugs.arm_test_hook(TABLE, getattr(args, "debug", False))
        confinement.confine(kernel.platform, getattr(args, "debug", False),
                            gofer_socket=gofer_sock, workload_pid=kernel.init_host())
        status = kernel.serve()
    except FileNotFoundError as exc:
        sys.stderr.write(f"runsc-py: {exc.strerror}\n")
        return 127
    finally:
        if relay is not None:
            relay.finish()
        if strace_out is not None and strace_out is not sys.stderr:
            strace_out.close()
    if args.report or args.report_file:
        report.count_fast_path(kernel.platform)
        report.wait_status = status
        report.oom_kills = cgroup.oom_kills(cgroup.oom_counter) if cgroup is not None else 0
        report_out.write(report.json() if args.report_format == "json" else report.text())
        if report_out is not sys.stderr:
            report_out.close()
    return exit_code(status)


# What `do` passes on to the workload's init, as `runsc-py run` and runc do.
FORWARDED = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGWINCH)


def forward_signals(kernel, relay=None) -> tuple[socket.socket, socket.socket]:
    """The workload has a session of its own (it must not reach the caller's
    process group), so the caller's terminal no longer signals it: its ^C
    and ^\\, and a kill of runsc-py, come here and go on to init (with a
    relayed terminal, ^C is a byte for the sandbox's pty, and SIGWINCH
    resizes that pty, which signals the sandbox's foreground group).

    Python's handlers run only between bytecodes, and the sentry may sleep in
    C for long; the wake-up fd puts each signal's number on a socket the loop
    watches, and forwarding happens there."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    signal.set_wakeup_fd(theirs.fileno(), warn_on_full_buffer=False)
    for sig in FORWARDED:
        signal.signal(sig, lambda *_: None)

    def forward(_events: int) -> None:
        with contextlib.suppress(BlockingIOError):
            for sig in ours.recv(256):
                if sig == signal.SIGWINCH and relay is not None:
                    relay.resize()
                else:
                    kernel.signal_init(sig)

    kernel.platform.watch(ours.fileno(), forward)
    return ours, theirs


def _guest_cwd() -> str:
    try:
        return os.getcwd()  # the host root is the sandbox's root, so paths agree
    except OSError:
        return "/"


def _pin_cpu(args, allowed: set[int]) -> int | None:
    """The CPU to run the whole sandbox on, or None. --cpu-pin=auto pins a
    sandbox given at most one CPU's time (--cpus <= 1), which loses no
    parallelism by it. The CPU this process is on now, so that sandboxes
    started side by side stay where the scheduler spread them."""
    if args.cpu_pin == "off" or args.cpu_pin == "auto" and not (args.cpus and args.cpus <= 1):
        return None
    here = lib.rp_current_cpu()
    return here if here in allowed else min(allowed)


