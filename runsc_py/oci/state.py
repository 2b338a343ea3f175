"""The state directory: `--root/ID/` holds one container's record, its lock and
the sandbox's control socket.

Every command that reads or changes a container holds `ID/lock` (flock)
for its whole run, so a kill racing a delete, or two execs, see a
consistent record. Only the CLI writes `state.json` (atomically, by
rename); the sandbox process never does, so a dead sandbox is found by
its pid (and its start time, against pid reuse), not by what it wrote.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time

STATE_FILE = "state.json"
LOCK_FILE = "lock"
CONTROL_SOCKET = "control.sock"
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$")


class ContainerError(Exception):
    """A lifecycle request that cannot be done (unknown id, wrong status...)."""


def check_id(cid: str) -> None:
    if not ID_PATTERN.match(cid):
        raise ContainerError(f"invalid container id {cid!r}: use letters, digits and _.+- "
                             "(not starting with a punctuation mark)")


class Container:
    """One container's record in the state directory."""

    def __init__(self, root: str, cid: str):
        check_id(cid)
        self.id = cid
        self.dir = os.path.join(root, cid)
        self.record: dict = {}
        self._lock_fd: int | None = None

    # -- existence and locking -------------------------------------------

    @classmethod
    def make(cls, root: str, cid: str) -> "Container":
        """Claim a new id: the directory's mkdir is the atomic test."""
        c = cls(root, cid)
        os.makedirs(root, mode=0o711, exist_ok=True)
        try:
            os.mkdir(c.dir, 0o711)
        except FileExistsError:
            raise ContainerError(f"container {cid!r} already exists (runsc-py delete {cid} first)")
        c.lock()
        return c

    @classmethod
    def open(cls, root: str, cid: str) -> "Container":
        """An existing container, locked and loaded."""
        c = cls(root, cid)
        try:
            c.lock()
            c.load()
        except FileNotFoundError:
            c.unlock()
            raise ContainerError(f"container {cid!r} does not exist (under {root})")
        return c

    def lock(self) -> None:
        self._lock_fd = os.open(os.path.join(self.dir, LOCK_FILE),
                                os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "Container":
        return self

    def __exit__(self, *exc) -> None:
        self.unlock()

    # -- the record ------------------------------------------------------

    def load(self) -> None:
        with open(os.path.join(self.dir, STATE_FILE), "rb") as f:
            self.record = json.load(f)

    def save(self) -> None:
        tmp = os.path.join(self.dir, STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(self.record, f)
        os.rename(tmp, os.path.join(self.dir, STATE_FILE))

    def remove(self) -> None:
        """Forget the container (the caller holds the lock). The directory
        holds files only: the record, the lock, the control socket."""
        with contextlib.suppress(OSError):
            for name in os.listdir(self.dir):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.dir, name))
            os.rmdir(self.dir)
        self.unlock()

    @property
    def control_path(self) -> str:
        return os.path.join(self.dir, CONTROL_SOCKET)

    # -- status ----------------------------------------------------------

    @property
    def pid(self) -> int:
        return int(self.record.get("pid", 0))

    def sandbox_alive(self) -> bool:
        pid = self.pid
        return pid > 0 and process_start_time(pid) == self.record.get("pid_start")

    def status(self) -> str:
        stored = self.record.get("status", "creating")
        if stored == "creating":
            return stored
        return stored if self.sandbox_alive() else "stopped"

    def oci_state(self) -> dict:
        status = self.status()
        return {
            "ociVersion": self.record.get("ociVersion", "1.1.0"),
            "id": self.id,
            "pid": self.pid if status != "stopped" else 0,
            "status": status,
            "bundle": self.record.get("bundle", ""),
            "rootfs": self.record.get("rootfs", ""),
            "created": self.record.get("created", ""),
            "owner": "",
            "annotations": self.record.get("annotations", {}),
        }


def list_ids(root: str) -> list[str]:
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    return [n for n in names if ID_PATTERN.match(n)
            and os.path.exists(os.path.join(root, n, STATE_FILE))]


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat, or None for a process that is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def now_rfc3339() -> str:
    """UTC with nanoseconds, as runc's `created` (Go's RFC3339Nano)."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


def write_pid_file(path: str, pid: int) -> None:
    """Atomically, as runc does: the engine may be polling for it."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)
