"""The spawner: starts workload processes for a sentry that is confined.

A seccomp filter is inherited by every child and can never be removed, so
a process the confined sentry cloned itself would carry the sentry's
allow-list on top of the workload's filter and die at its first call
outside it (execve). An OCI sentry starts processes after boot (`runsc-py
exec`), so before it loads its own filter it forks this process, which
stays unfiltered and does one thing: on a request over its socket, it
clones a workload process with `CLONE_PARENT` (the sentry is its parent:
it reaps it, and the child's `PR_SET_PDEATHSIG` names the sentry) under
the workload's filter it inherited at the fork. The sentry then seizes it
and takes its listener as for any other (`Interposer._spawn`).

What it accepts: a path, argv, envp, whether the stdio is a terminal, and
fds (the stdio, the sync socket, init's pidfd for the namespaces). It
never runs anything itself; what it starts is under the workload's filter
(which traps exec to the sentry) in init's namespaces. It dies with the
sentry (PR_SET_PDEATHSIG) and holds no fd but its socket and stdio.

An OCI sandbox's init comes from it too (`spawn_init`: new namespaces, the
rootfs, the spec's rlimits), not from the sentry: a process forked from
the sentry shares every page the sentry has, and each of the sentry's
writes until init's exec then copied one (~400 pages, ~1.4 ms of every
cold start). It leaves the host's tree only after init is out (init's
root is a bind of the rootfs, a host path), and says so ("sealed") before
the sentry confines itself: nothing of the workload runs before that.
"""
from __future__ import annotations

import array
import marshal
import os
import socket

from runsc_py._interpose import ffi, lib

CLONE_PARENT = 0x00008000
CLONE_NEWPID = 0x20000000
_MAX_REQUEST = 1 << 20
_NFDS = 5   # stdio (3), the sync socket, init's pidfd (not init's own request)
SEALED = b"sealed"   # the spawner's word that it has left the host's tree


class Spawner:
    """The sentry's side: a forked spawner and its socket."""

    def __init__(self, pid: int, sock: socket.socket):
        self.pid = pid
        self.sock = sock
        self.configured = False

    @classmethod
    def fork(cls) -> "Spawner":
        """Fork the spawner. Early in boot, before the Kernel and the VFS are
        built: every page the sentry shares with it at the fork is copied at
        the sentry's next write (a fork at the end of boot cost a cold
        `run` ~10 ms; docs/architecture.md, "Start-up", says what the fork
        after the sentry's imports still costs). It waits for `configure`
        before it serves."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                ours.close()
                _serve(theirs)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        return cls(pid, ours)

    def configure(self, spawn_fields: dict, init: bool = False) -> None:
        """The rp_spawn fields every process shares (the workload's filter,
        the profile's, the cpu, the workload's host ids); with `init`, the
        first request will be `spawn_init`'s."""
        self.sock.send(marshal.dumps({**spawn_fields, "init": init}))
        self.configured = True

    def spawn_init(self, path: bytes, argv: list[bytes], envp: list[bytes],
                   stdio: tuple[int, int, int] | None, sync_fd: int, ctty: bool,
                   clone_flags: int, root: bytes | None, rlimits) -> int:
        """Start the sandbox's init (the first request after `configure(...,
        init=True)`): new namespaces, `root` its root, `rlimits` set as it
        starts; `stdio` None: the spawner's own, the sandbox's. Returns its
        host pid (a child of the sentry, CLONE_PARENT)."""
        body = marshal.dumps((path, argv, envp, bool(ctty),
                              (clone_flags, root, [tuple(r) for r in rlimits])))
        fds = array.array("i", [*(stdio if stdio is not None else (0, 1, 2)), sync_fd])
        return self._request(body, fds)

    def wait_sealed(self) -> None:
        """Until the spawner has left the host's tree (after init's spawn)."""
        if self.sock.recv(16) != SEALED:
            raise OSError(0, "the spawner did not leave the host's tree")

    def spawn(self, path: bytes, argv: list[bytes], envp: list[bytes],
              stdio: tuple[int, int, int], sync_fd: int, join_pidfd: int, ctty: bool) -> int:
        """Start one process; returns its host pid (a child of this process)."""
        body = marshal.dumps((path, argv, envp, bool(ctty), None))
        return self._request(body, array.array("i", [*stdio, sync_fd, join_pidfd]))

    def _request(self, body: bytes, fds: array.array) -> int:
        self.sock.sendmsg([body], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
        reply = self.sock.recv(16)
        if len(reply) != 4:
            raise OSError(0, "the spawner is gone")
        pid = int.from_bytes(reply, "little", signed=True)
        if pid < 0:
            raise OSError(-pid, f"cannot start the process: {os.strerror(-pid)}")
        return pid

    def stop(self) -> None:
        """Kill the spawner; its parent reaps it (sandbox.py, _end_helpers:
        beside the gofer, both ending at once)."""
        import contextlib
        import signal

        self.sock.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def _serve(sock: socket.socket) -> None:
    """The spawner's main: its fields, then one process per request, until
    the sentry goes."""
    from runsc_py import hostcalls

    hostcalls.set_pdeathsig(9)   # SIGKILL: never outlive the sentry
    if os.getppid() == 1:
        return   # the sentry died before the death signal was set
    keep = sock.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)
    first = sock.recv(_MAX_REQUEST)
    if not first:
        return   # the sentry closed its end before it was configured
    fields = marshal.loads(first)
    if fields["init"] and not _serve_one(sock, fields, init=True):
        return
    # The sentry's Landlock domain is ours (we must be, for it to trace what
    # we clone), so a compromised sentry can walk /proc/<our pid>/root: it
    # finds a root as empty as its own. (What we clone later joins init's
    # mounts; init itself needed the host's tree for its rootfs.)
    hostcalls.leave_host_tree()
    sock.send(SEALED)
    serving = True
    while serving:
        serving = _serve_one(sock, fields)


def _serve_one(sock: socket.socket, fields: dict, init: bool = False) -> bool:
    """One request, answered with the pid (or -errno); False once the
    sentry has closed its end."""
    while True:
        try:
            body, ancdata, _flags, _addr = sock.recvmsg(_MAX_REQUEST,
                                                       socket.CMSG_SPACE(_NFDS * 4),
                                                       socket.MSG_CMSG_CLOEXEC)
        except InterruptedError:
            continue
        break
    if not body:
        return False   # the sentry closed its end
    fds = array.array("i")
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % 4])
    try:
        pid = _spawn_one(body, list(fds), fields, init) \
            if len(fds) == (_NFDS - 1 if init else _NFDS) else -22
    finally:
        for fd in fds:
            os.close(fd)
    sock.send(pid.to_bytes(4, "little", signed=True))
    return True


def _spawn_one(body: bytes, fds: list[int], fields: dict, init: bool = False) -> int:
    """Clone one process: init (its namespaces new, `init` True, and the
    request says so), or a process joining init's (its pidfd is the fifth fd)."""
    path, argv, envp, ctty, as_init = marshal.loads(body)
    if (as_init is not None) != init:
        return -22   # EINVAL: init comes first, and only once
    stdio, sync_fd = fds[:3], fds[3]
    clone_flags, root, rlimits, join_pidfd = CLONE_PARENT, None, (), -1
    if init:
        namespaces, root, rlimits = as_init
        clone_flags |= namespaces
    else:
        join_pidfd = fds[4]
        rc = lib.rp_setns(join_pidfd, CLONE_NEWPID)   # pid_for_children: init's namespace
        if rc < 0:
            return rc
    keep = [ffi.new("char[]", a) for a in argv + envp + [path]]
    c_root = ffi.new("char[]", root) if root is not None else ffi.NULL
    c_rlimits = ffi.new("uint64_t[]", [v for triple in rlimits for v in triple] or [0])
    c_argv = ffi.new("char *[]", keep[: len(argv)] + [ffi.NULL])
    c_envp = ffi.new("char *[]", keep[len(argv): len(argv) + len(envp)] + [ffi.NULL])
    c_stdio = ffi.new("int32_t[3]", stdio)
    bpf, profile = fields["bpf"], fields["profile_bpf"]
    spawn = ffi.new("struct rp_spawn *", {
        "path": keep[-1], "argv": c_argv, "envp": c_envp, "bpf": ffi.from_buffer(bpf),
        "bpf_len": len(bpf) // 8, "filter_flags": fields["filter_flags"],
        "clone_flags": clone_flags, "sync_fd": sync_fd, "cpu": fields["cpu"],
        "root": c_root, "join_pidfd": join_pidfd, "stdio": c_stdio,
        "ctty": 1 if ctty else 0,
        "host_uid": fields["host_id"], "host_gid": fields["host_id"],   # the sentry's, not ours
        "rlimits": c_rlimits, "n_rlimits": len(rlimits),
        "profile_bpf": ffi.from_buffer(profile) if profile else ffi.NULL,
        "profile_bpf_len": len(profile) // 8 if profile else 0,
    })
    return lib.rp_spawn_workload(spawn)

