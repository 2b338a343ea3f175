"""The loop's wake-ups (csrc/waiting.c): on the seccomp platform the sentry
sleeps in the listener's RECV and is woken by signals (SIGCHLD, and the
watcher's for the other fds). These try to make a wake-up land where it
must not change anything, or get lost."""
import socket
import subprocess
import sys
import textwrap

from tests.conftest import RUNSC_PY, finish, sandboxed

# A thread forks and reaps children as fast as it can, so SIGCHLD reaches the
# sentry all the time, while the main thread makes calls whose fds the
# sentry installs with ADDFD (pipe's second fd and dup2's answer the call
# with SEND). An ADDFD|SEND a signal interrupts leaves the call answered
# with 0 and no fd installed.
INSTALLS_UNDER_SIGCHLD = textwrap.dedent("""
    import os, threading
    running = True
    forks = 0
    def storm():
        global forks
        while running:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            forks += 1
    thread = threading.Thread(target=storm)
    thread.start()
    try:
        for i in range(4000):
            r, w = os.pipe()
            d = os.dup2(w, 60)
            assert d == 60, (i, d)
            assert os.fstat(d).st_ino == os.fstat(w).st_ino, i
            os.write(d, b"x")
            assert os.read(r, 1) == b"x", i
            for fd in (r, w, d):
                os.close(fd)
    finally:
        running = False
        thread.join()
    print("ok", forks > 50)
""")


def test_fds_are_installed_while_children_stop_and_exit(platform):
    r = sandboxed(platform, "python3", "-c", INSTALLS_UNDER_SIGCHLD, timeout=120)
    assert (r.code, r.out) == (0, b"ok True\n"), r


# A published port: the workload sits in accept, which only the sentry's
# host listener (a watched fd) can end, so each connection needs the
# watcher's wake-up to reach the loop. Ten in a row, so that one lost
# between two is seen.
PUBLISHED_ECHO = textwrap.dedent("""
    import socket
    s = socket.socket(); s.bind(("0.0.0.0", 8000)); s.listen()
    print("ready", flush=True)
    for _ in range(10):
        c, _ = s.accept()
        c.sendall(c.recv(100))
        c.close()
""")


def test_watched_fds_wake_the_loop(platform):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", f"--publish=127.0.0.1:{port}:8000",
                                        "--", sys.executable, "-c", PUBLISHED_ECHO],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        for i in range(10):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                c.settimeout(10)
                c.sendall(b"%d" % i)
                assert c.recv(100) == b"%d" % i
    finally:
        finish(proc)
    assert proc.returncode == 0
