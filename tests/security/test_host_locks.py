"""Locks on host files are the sandbox's own: host processes' locks are
invisible to the sandbox, and the sandbox's to them.

flock, POSIX record locks and OFD locks on files the gofer donated (here a
bind mount of a host directory) are kept by the sentry (sentry/locks.py),
never on the host inode: a host process holding a lock does not stop the
sandbox taking the same one, the sandbox holding one does not stop a host
`flock -n` or F_SETLK, and a lease (which would make a host writer's open
wait until the sandbox let go) is never granted.
"""
import fcntl
import json
import os
import shutil
import struct
import subprocess
import sys
import time

import pytest

from tests.conftest import PROGRAMS, RUNSC_PY, finish, sandboxed
from tests.oci.conftest import bundle  # noqa: F401 - the OCI tests' fixture

FLOCK = "hhqqi4x"   # struct flock: l_type, l_whence, l_start, l_len, l_pid (and padding)

TAKE = """
import fcntl, os, struct, sys
d = sys.argv[1]
def report(what, fn):
    try:
        fn(); print(what, "ok", flush=True)
    except OSError as e:
        print(what, e.errno, flush=True)
f1 = os.open(d + "/flock", os.O_RDWR)
f2 = os.open(d + "/posix", os.O_RDWR)
f3 = os.open(d + "/ofd", os.O_RDWR)
report("flock", lambda: fcntl.flock(f1, fcntl.LOCK_EX | fcntl.LOCK_NB))
report("posix", lambda: fcntl.fcntl(f2, fcntl.F_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0)))
report("ofd", lambda: fcntl.fcntl(f3, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0)))
print("held", flush=True)
sys.stdin.read()
"""

LEASE = """
import fcntl, os, sys, time
p = sys.argv[1]
fd = os.open(p, os.O_RDONLY)
for name, arg in (("F_RDLCK", fcntl.F_RDLCK), ("F_WRLCK", fcntl.F_WRLCK)):
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, arg); print(name, "granted", flush=True)
    except OSError as e:
        print(name, e.errno, flush=True)
print("F_GETLEASE", fcntl.fcntl(fd, fcntl.F_GETLEASE), flush=True)
print("held", flush=True)
sys.stdin.read()
"""


def _files(tmp_path):
    for name in ("flock", "posix", "ofd"):
        (tmp_path / name).write_bytes(b"data")


def _host_locks(tmp_path):
    """Take all three locks from this (host) process; returns the fds holding them."""
    f1 = os.open(tmp_path / "flock", os.O_RDWR)
    f2 = os.open(tmp_path / "posix", os.O_RDWR)
    f3 = os.open(tmp_path / "ofd", os.O_RDWR)
    fcntl.flock(f1, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fcntl.fcntl(f2, fcntl.F_SETLK, struct.pack(FLOCK, fcntl.F_WRLCK, 0, 0, 0, 0))
    fcntl.fcntl(f3, fcntl.F_OFD_SETLK, struct.pack(FLOCK, fcntl.F_WRLCK, 0, 0, 0, 0))
    return [f1, f2, f3]


def _start(platform, tmp_path, script, arg):
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", "-v", f"{tmp_path}:{tmp_path}",
                                        "--", sys.executable, "-c", script, arg],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    while True:
        line = proc.stdout.readline().decode()
        if not line:
            finish(proc)
            raise AssertionError(f"the sandbox ended early: {lines} {proc.stderr.read()!r}")
        if line.strip() == "held":
            return proc, lines
        lines.append(line.strip())


def test_host_locks_are_invisible_to_the_sandbox(platform, tmp_path):
    _files(tmp_path)
    held = _host_locks(tmp_path)
    try:
        proc, lines = _start(platform, tmp_path, TAKE, str(tmp_path))
        finish(proc)   # closes its stdin: it lets go
    finally:
        for fd in held:
            os.close(fd)
    assert lines == ["flock ok", "posix ok", "ofd ok"], lines


def test_sandbox_locks_are_invisible_to_the_host(platform, tmp_path):
    _files(tmp_path)
    proc, lines = _start(platform, tmp_path, TAKE, str(tmp_path))
    try:
        assert lines == ["flock ok", "posix ok", "ofd ok"], lines
        os.close(os.open(tmp_path / "posix", os.O_RDONLY))   # nothing of ours on them yet
        for fd in _host_locks(tmp_path):   # raises if the sandbox's locks were the host's
            os.close(fd)
        if shutil.which("flock"):
            r = subprocess.run(["flock", "-n", str(tmp_path / "flock"), "true"], timeout=10)
            assert r.returncode == 0, "a host flock -n was refused while the sandbox held the file"
    finally:
        finish(proc)   # closes its stdin: it lets go


def test_no_lease_on_a_host_file(platform, tmp_path):
    target = tmp_path / "leased"
    target.write_bytes(b"data")
    proc, lines = _start(platform, tmp_path, LEASE, str(target))
    try:
        # EAGAIN: Linux's answer when the file may be open elsewhere (it may: on the host)
        assert lines == ["F_RDLCK 11", "F_WRLCK 11", f"F_GETLEASE {fcntl.F_UNLCK}"], lines
        start = time.monotonic()
        writer = subprocess.run([sys.executable, "-c", f"open({str(target)!r}, 'r+b').close()"],
                                timeout=20)
        assert writer.returncode == 0
        assert time.monotonic() - start < 5, "a host writer waited for a sandbox lease"
    finally:
        finish(proc)   # closes its stdin: it lets go


def test_locks_on_tmpfs_stay_native(platform):
    """The sandbox's own files keep their host locks: two opens still conflict."""
    code = ("import fcntl, os\n"
            "a = os.open('/tmp/x', os.O_RDWR | os.O_CREAT); b = os.open('/tmp/x', os.O_RDWR)\n"
            "fcntl.flock(a, fcntl.LOCK_EX)\n"
            "try: fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "except BlockingIOError: print('conflict')\n")
    r = sandboxed(platform, sys.executable, "-c", code, flags=("--tmpfs", "/tmp"))
    assert r.out == b"conflict\n", r


def test_directory_locks_are_per_directory(platform):
    """A directory fd's host object stands for many directories: its locks are
    keyed by the sandbox's own directory, so two directories never conflict."""
    code = ("import fcntl, os\n"
            "os.makedirs('/tmp/a'); os.makedirs('/tmp/b')\n"
            "a, b, a2 = (os.open(p, os.O_RDONLY) for p in ('/tmp/a', '/tmp/b', '/tmp/a'))\n"
            "fcntl.flock(a, fcntl.LOCK_EX)\n"
            "fcntl.flock(b, fcntl.LOCK_EX | fcntl.LOCK_NB); print('b free')\n"
            "try: fcntl.flock(a2, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "except BlockingIOError: print('a taken')\n")
    r = sandboxed(platform, sys.executable, "-c", code, flags=("--tmpfs", "/tmp"))
    assert r.out == b"b free\na taken\n", r


# The same from an OCI container, on a bind mount of a host directory.

def _locking_bundle(bundle, tmp_path, seconds: str):
    locks = tmp_path / "locks"
    locks.mkdir()
    _files(locks)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(bundle.path / "rootfs" / "bin" / "take_locks"),
                    str(PROGRAMS / "take_locks.c")], check=True)
    doc = bundle.config(["/bin/take_locks", "/locks", seconds])
    doc["mounts"].append({"destination": "/locks", "type": "bind", "source": str(locks),
                          "options": ["rbind", "rw"]})
    (bundle.path / "config.json").write_text(json.dumps(doc))
    return locks


def test_host_locks_are_invisible_to_a_container(bundle, tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (./setup.sh installs it)")
    locks = _locking_bundle(bundle, tmp_path, "0")
    held = _host_locks(locks)
    try:
        r = bundle.cli("run", "--bundle", str(bundle.path), "l1", stdin=subprocess.DEVNULL)
    finally:
        for fd in held:
            os.close(fd)
    assert r.stdout.split("\n")[:3] == ["flock ok", "posix ok", "ofd ok"], r.stdout


def test_container_locks_are_invisible_to_the_host(bundle, tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (./setup.sh installs it)")
    locks = _locking_bundle(bundle, tmp_path, "60")
    out = tmp_path / "container.out"
    with open(out, "wb") as f:
        proc = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "run", "--bundle",
                                            str(bundle.path), "l2"],
                                stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while b"held" not in out.read_bytes():
            assert time.monotonic() < deadline and proc.poll() is None, out.read_bytes()
            time.sleep(0.05)
        assert out.read_bytes().split(b"\n")[:3] == [b"flock ok", b"posix ok", b"ofd ok"]
        for fd in _host_locks(locks):   # raises if the container's locks were the host's
            os.close(fd)
    finally:
        proc.kill()
        finish(proc)
