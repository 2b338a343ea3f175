"""The Python API: run code you do not trust, as `subprocess` runs a program.

    from runsc_py import Sandbox

    with Sandbox(network="none", timeout=10, output_limit="1M") as sb:
        sb.write_file("/work/main.py", "print(6 * 7)")
        result = sb.run(["python3", "/work/main.py"])
    result.returncode, result.stdout        # 0, b"42\\n"

Every `run` is a sandbox of its own (`runsc-py do`: the host's root, read
only, under an overlay whose changes vanish with it), so nothing a run
does reaches the next but what it writes in `workdir`: a scratch directory
of the Sandbox's on the host, mounted there, where `write_file` puts code
and data and `read_file` takes results (never following a link the
workload planted). A run's budget: `timeout` (the sandbox is killed, and
everything in it), `output_limit` (more is read and dropped, and the
result says it was cut), `pids`, `memory` and `cpus` (a cgroup around the
whole sandbox: its sentry too; `oom_killed` when the limit killed), and
`file_size_limit` (RLIMIT_FSIZE). `user` runs the code as a sandbox user
without capabilities instead of the sandbox's root.
docs/api.md is the guide; pool.py keeps sandboxes booted ahead of demand.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import secrets
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from runsc_py.interpreter import launch_code
from runsc_py.sentry.limits import parse_size

_launch_code: str | None = None


def _launch() -> str:
    """How the CLI is started: as the `runsc-py` launcher starts it
    (interpreter.py), from this package wherever it is, leaving the
    environment (which the workload gets) as the caller gave it. Isolated
    (-I): no "" (the cwd) on sys.path, where an import after the sentry
    confined itself would call getcwd, which its filter forbids."""
    global _launch_code
    if _launch_code is None:
        _launch_code = launch_code()
    return _launch_code


NETWORKS = ("none", "sandbox", "host")


@dataclasses.dataclass
class Result:
    """What one run did. `returncode` is subprocess's: -N when a signal
    killed it (then `signal` is N)."""

    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    signal: int | None = None
    timed_out: bool = False
    oom_killed: bool = False   # the memory limit killed a process of the run
    wall_time: float = 0.0     # seconds, from the start of the sandbox to its end
    cpu_time: float = 0.0      # seconds of CPU: the sandbox's processes and the sentry's
    max_rss: int = 0           # bytes: the largest process of the run
    unimplemented: list = dataclasses.field(default_factory=list)  # syscalls it got ENOSYS for

    def check_returncode(self) -> None:
        if self.returncode != 0:
            raise subprocess.CalledProcessError(self.returncode, self.argv, self.stdout,
                                                self.stderr)


class Sandbox:
    """How to run: the same for every `run`. See the module's docstring."""

    def __init__(self, root: str = "/", *, network: str = "none", egress=(), volumes=(),
                 tmpfs=(), env: dict[str, str] | None = None, cwd: str | None = None,
                 workdir: str = "/work", pids: int | None = None, timeout: float | None = None,
                 output_limit: int | str = "1M", memory: int | str | None = None,
                 cpus: float | None = None, user: int | str | None = None,
                 file_size_limit: int | str | None = None, platform: str = "seccomp"):
        if root != "/":
            raise ValueError("only root='/' (the host's, read-only, under an overlay) for now")
        if network not in NETWORKS:
            raise ValueError(f"network must be one of {NETWORKS}")
        if not workdir.startswith("/") or os.path.normpath(workdir) in ("/", "//"):
            raise ValueError("workdir must be an absolute path below /")
        self.network, self.egress = network, list(egress)
        self.volumes, self.tmpfs = list(volumes), list(tmpfs)
        self.env = dict(os.environ) if env is None else dict(env)
        self.workdir = os.path.normpath(workdir)
        self.cwd = cwd or self.workdir
        self.pids, self.timeout, self.platform = pids, timeout, platform
        self.output_limit = parse_size(output_limit)
        self.memory = parse_size(memory) if memory is not None else None
        self.cpus = cpus
        self.user = _user(user) if user is not None else None
        self.file_size_limit = parse_size(file_size_limit) if file_size_limit is not None else None
        self.scratch = make_scratch()

    # -- lifetime --------------------------------------------------------------

    def close(self) -> None:
        """Remove the scratch directory (and what the runs left in it)."""
        if self.scratch is not None:
            shutil.rmtree(os.path.dirname(self.scratch), ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- files in the workdir ----------------------------------------------------

    def write_file(self, path: str, data: bytes | str, mode: int = 0o644) -> None:
        """Put `data` at `path` (in `workdir`), making its directories."""
        if isinstance(data, str):
            data = data.encode()
        names = self._names(path)
        parent = self._open_dir(names[:-1], create=True)
        try:
            fd = os.open(names[-1], os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_CLOEXEC, mode, dir_fd=parent)   # (a planted FIFO: no wait)
        finally:
            os.close(parent)
        with os.fdopen(fd, "wb") as f:
            if not _is_regular(fd):
                raise OSError(errno.EINVAL, f"not a regular file: {path}")
            os.ftruncate(fd, 0)
            os.fchmod(fd, mode)   # whatever the umask
            f.write(data)

    def read_file(self, path: str, limit: int | None = None) -> bytes:
        """The bytes at `path` (in `workdir`), as the runs left them; a link
        the workload planted is refused (ELOOP), never followed to the host."""
        names = self._names(path)
        parent = self._open_dir(names[:-1], create=False)
        try:
            fd = os.open(names[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=parent)
        finally:
            os.close(parent)
        with os.fdopen(fd, "rb") as f:
            if not _is_regular(f.fileno()):
                raise OSError(errno.EINVAL, f"not a regular file: {path}")
            return f.read(-1 if limit is None else limit)

    def _names(self, path: str) -> list[str]:
        normal = os.path.normpath(path if path.startswith("/") else f"{self.workdir}/{path}")
        if not normal.startswith(self.workdir + "/"):
            raise ValueError(f"{path}: not in the workdir {self.workdir}")
        return normal[len(self.workdir) + 1:].split("/")

    def _open_dir(self, names: list[str], create: bool) -> int:
        """The scratch directory `names` below the scratch root, walked one
        name at a time without following a link (the workload writes here)."""
        fd = os.open(self.scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for name in names:
            try:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o777, dir_fd=fd)
                nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                              dir_fd=fd)
            finally:
                os.close(fd)
            fd = nxt
        return fd

    # -- running -------------------------------------------------------------------

    def run(self, argv: list[str], input: bytes | str = b"", timeout: float | None = None,
            env: dict[str, str] | None = None) -> Result:
        """Run argv in a new sandbox; wait for it (at most `timeout`, else the
        Sandbox's); everything it printed, within `output_limit`."""
        if isinstance(input, str):
            input = input.encode()
        timeout = self.timeout if timeout is None else timeout
        with tempfile.TemporaryDirectory(prefix="runsc-py-run-") as private:
            report = os.path.join(private, "report.json")
            proc = self.start(argv, report_file=report, env=env)
            return finish(proc, list(argv), input, timeout, self.output_limit, report,
                          memory_limited=self.memory is not None)

    async def arun(self, argv: list[str], input: bytes | str = b"",
                   timeout: float | None = None, env: dict[str, str] | None = None) -> Result:
        """`run` for asyncio: one event loop drives many sandboxes (each run
        waits in a thread of the loop's executor)."""
        return await in_thread(self.run, argv, input, timeout, env)

    def popen(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """A sandbox running argv, to stream to and from (a REPL, a long job):
        a Popen with stdin, stdout and stderr pipes. Its budget is yours to
        keep: kill() ends the sandbox and everything in it."""
        return self.start(argv, env=env)

    def start(self, argv: list[str], report_file: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen:
        """The sandbox's process, started (stdin, stdout and stderr pipes)."""
        return subprocess.Popen(self.command(argv, report_file), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(self.env if env is None else env), cwd="/",
                                start_new_session=True)

    def command(self, argv: list[str], report_file: str | None = None) -> list[str]:
        """The `runsc-py do` command line that runs argv as this Sandbox says."""
        cmd = [sys.executable, "-IS", "-c", _launch(), "do", f"--platform={self.platform}",
               f"--network={self.network}", "--volume", f"{self.scratch}:{self.workdir}"]
        for volume in self.volumes:
            cmd += ["--volume", volume]
        for path in self.tmpfs:
            cmd += ["--tmpfs", path]
        if self.egress:
            cmd += ["--egress", ",".join(self.egress)]
        if self.pids is not None:
            cmd += ["--pids-limit", str(self.pids)]
        if self.memory is not None:
            cmd += ["--memory", str(self.memory)]
        if self.cpus is not None:
            cmd += ["--cpus", str(self.cpus)]
        if self.user is not None:
            cmd += ["--user", self.user]
        if self.file_size_limit is not None:
            cmd += ["--file-size-limit", str(self.file_size_limit)]
        if report_file is not None:
            cmd += ["--report-file", report_file, "--report-format", "json"]
        return cmd + ["--", "/bin/sh", "-c", 'cd "$0" && exec "$@"', self.cwd, *argv]


async def in_thread(call, *args, **kwargs):
    """`call(*args, **kwargs)`, awaited in a thread of the loop's executor."""
    import asyncio
    import functools

    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(call, *args, **kwargs))


def _user(user: int | str) -> str:
    """`user=`: 1000, "1000" or "1000:100", checked as `runsc-py do --user`
    takes it."""
    from runsc_py.sentry.credentials import Credentials   # (~4 ms: only with user=)

    try:
        Credentials.parse_ids(str(user))
    except ValueError as exc:
        raise ValueError(f"user: {exc}") from None
    return str(user)


def make_scratch() -> str:
    """A fresh host directory for a workdir. The sandbox's gofer writes there
    with the workload's own host uid, so it is mode 0777; it sits in a
    directory of ours (0711) under a random name, so no one else on the
    host can find it to plant anything."""
    parent = tempfile.mkdtemp(prefix="runsc-py-work-")
    os.chmod(parent, 0o711)
    scratch = os.path.join(parent, secrets.token_hex(16))
    os.mkdir(scratch)
    os.chmod(scratch, 0o777)
    return scratch


def finish(proc: subprocess.Popen, argv: list[str], input: bytes, timeout: float | None,
           limit: int, report_file: str | None, started: float | None = None,
           memory_limited: bool = False) -> Result:
    """Feed `input`, collect the output (within `limit` each), kill the
    sandbox at `timeout`, reap it; the Result. Out of memory: the report
    counts what the limit killed; a sentry it killed wrote none, and its
    runner died of SIGKILL that no timeout sent."""
    started = time.monotonic() if started is None else started
    deadline = None if timeout is None else started + timeout
    out, err, timed_out = _communicate(proc, input, limit, deadline)
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    report = _read_report(report_file)
    workload = report.get("wait_status")
    code, sig = _returncode(proc.returncode if workload is None else workload, workload is not None)
    oom = report.get("oom_kills", 0) > 0 or (memory_limited and workload is None and not timed_out
                                              and proc.returncode == -signal.SIGKILL)
    return Result(argv, code, out[0], err[0], out[1], err[1], signal=sig, timed_out=timed_out,
                  oom_killed=oom,
                  wall_time=wall, cpu_time=usage.ru_utime + usage.ru_stime,
                  max_rss=usage.ru_maxrss * 1024,
                  unimplemented=report.get("unimplemented", []))


def _communicate(proc: subprocess.Popen, input: bytes, limit: int, deadline: float | None):
    """(stdout, cut?), (stderr, cut?), timed out?"""
    sel = selectors.DefaultSelector()
    kept = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    cut = dict.fromkeys(kept, False)
    for stream in (proc.stdout, proc.stderr):
        os.set_blocking(stream.fileno(), False)
        sel.register(stream.fileno(), selectors.EVENT_READ)
    pending = memoryview(input)
    stdin = proc.stdin.fileno()
    os.set_blocking(stdin, False)
    if pending:
        sel.register(stdin, selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    timed_out = False
    while sel.get_map():
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            timed_out = True
            break
        for key, _events in sel.select(wait):
            fd = key.fd
            if fd == stdin:
                try:
                    pending = pending[os.write(stdin, pending[:65536]):]
                except (BrokenPipeError, OSError):
                    pending = memoryview(b"")
                if not pending:
                    sel.unregister(stdin)
                    proc.stdin.close()
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(fd)
                continue
            room = limit - len(kept[fd])
            kept[fd] += chunk[:max(room, 0)]
            cut[fd] = cut[fd] or len(chunk) > room
    sel.close()
    if not proc.stdin.closed:
        proc.stdin.close()
    o, e = proc.stdout.fileno(), proc.stderr.fileno()
    result = (bytes(kept[o]), cut[o]), (bytes(kept[e]), cut[e]), timed_out
    proc.stdout.close()
    proc.stderr.close()
    return result


def _returncode(status: int, is_wait_status: bool) -> tuple[int, int | None]:
    """subprocess's returncode and the killing signal, from init's wait status
    (the report's) or, without one, from the runner's exit code."""
    if is_wait_status:
        if os.WIFSIGNALED(status):
            return -os.WTERMSIG(status), os.WTERMSIG(status)
        return os.WEXITSTATUS(status), None
    return (status, -status) if status < 0 else (status, None)


def _read_report(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}   # the sandbox was killed before it wrote one


def _is_regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)
