"""terminal: true — a pty whose master is sent to --console-socket, as runc does."""
from __future__ import annotations

import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import termios
import time

import pytest


class ConsoleSocket:
    """What an engine does: listen, and receive the master with SCM_RIGHTS."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(30)

    def receive(self) -> tuple[bytes, int]:
        conn, _ = self.sock.accept()
        with conn:
            name, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        return name, fds[0]


def read_until(master: int, want: bytes, timeout: float = 20) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while want not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                out += os.read(master, 4096)
            except OSError:
                break
    return out


def _terminal(bundle, args, size=(24, 80)):
    doc = bundle.config(args)
    doc["process"]["terminal"] = True
    doc["process"]["consoleSize"] = {"height": size[0], "width": size[1]}
    (bundle.path / "config.json").write_text(json.dumps(doc))


def _create_with_console(bundle, cid):
    console = ConsoleSocket(bundle.path / "console.sock")
    proc = bundle.cli("create", "-b", str(bundle.path), "--console-socket", console.path, cid)
    assert proc.returncode == 0, proc.stdout
    name, master = console.receive()
    assert name == b"/dev/ptmx"
    return master


def test_the_workload_gets_a_pty_of_the_given_size(bundle):
    _terminal(bundle, ["sh", "-c", "test -t 0 && test -t 1 && echo isatty; stty size; tty; echo done"])
    master = _create_with_console(bundle, "t1")
    assert bundle.cli("start", "t1").returncode == 0
    out = read_until(master, b"done")
    os.close(master)
    assert b"isatty" in out and b"24 80" in out, out
    # ttyname() finds it, by the number a container's own devpts gives its first pty
    assert b"/dev/pts/0\r\n" in out and b"not a tty" not in out, out


def test_resizing_the_master_sends_sigwinch(bundle):
    _terminal(bundle, ["sh", "-c", "trap 'stty size; exit 0' WINCH; echo ready; "
                                   "while true; do sleep 0.1; done"])
    master = _create_with_console(bundle, "t2")
    assert bundle.cli("start", "t2").returncode == 0
    assert b"ready" in read_until(master, b"ready")
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    out = read_until(master, b"30 100")
    os.close(master)
    assert b"30 100" in out, out


def test_input_reaches_the_workload(bundle):
    _terminal(bundle, ["sh", "-c", "read line; echo got-$line"])
    master = _create_with_console(bundle, "t3")
    assert bundle.cli("start", "t3").returncode == 0
    os.write(master, b"hello\n")
    out = read_until(master, b"got-hello")
    os.close(master)
    assert b"got-hello" in out, out


def test_tiocsti_is_refused(bundle, tmp_path):
    from tests.conftest import PROGRAMS

    exe = bundle.path / "rootfs" / "bin" / "tiocsti"
    if subprocess.run(["gcc", "-static", "-O1", "-o", str(exe), str(PROGRAMS / "tiocsti.c")],
                      capture_output=True).returncode != 0:
        pytest.skip("gcc cannot link statically here (libc6-dev's libc.a is missing)")
    _terminal(bundle, ["/bin/tiocsti"])
    master = _create_with_console(bundle, "t4")
    assert bundle.cli("start", "t4").returncode == 0
    out = read_until(master, b"\n")
    os.close(master)
    assert b"refused" in out and b"injected" not in out, out


def test_exec_with_a_tty(bundle):
    bundle.config(["sleep", "100"])
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "t5").returncode == 0
    console = ConsoleSocket(bundle.path / "exec-console.sock")
    from tests.oci.conftest import RUNSC_PY

    waiter = subprocess.Popen(RUNSC_PY + ["--root", str(bundle.root), "exec", "--tty",
                                          "--console-socket", console.path, "t5", "sh", "-c",
                                          "test -t 0 && echo exec-isatty; tty; exit 3"])
    _, master = console.receive()
    out = read_until(master, b"exec-isatty")
    assert waiter.wait(timeout=20) == 3
    out += read_until(master, b"/dev/pts/0\r\n", timeout=5)
    os.close(master)
    assert b"exec-isatty" in out and b"/dev/pts/0\r\n" in out, out
