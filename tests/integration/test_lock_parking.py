"""A lock wait is parked, not blocked on: the sentry's loop serves the rest.

One sandboxed process waits in F_SETLKW for a lock on a host-backed file
(the sentry's lock table) while another keeps making calls the sentry
answers (opens, stats) and printing; the wait ends when the holder lets go.
"""
import sys

from tests.conftest import sandboxed

SCRIPT = """
import fcntl, os, struct, sys, time
path = sys.argv[1]
lock = struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0)
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
fcntl.fcntl(fd, fcntl.F_SETLK, lock)
r, w = os.pipe()
waiter = os.fork()
if waiter == 0:
    os.close(fd)
    mine = os.open(path, os.O_RDWR)
    os.write(w, b"w")
    fcntl.fcntl(mine, fcntl.F_SETLKW, lock)
    print("waiter got the lock", flush=True)
    os._exit(0)
os.read(r, 1)
time.sleep(0.2)
talker = os.fork()
if talker == 0:
    for i in range(5):
        os.stat("/")
        os.close(os.open(path, os.O_RDONLY))   # not the fd the lock is on: no release
        print("tick", i, flush=True)
        time.sleep(0.05)
    os._exit(0)
os.waitpid(talker, 0)
print("ticks done, waiter still waiting:", os.waitpid(waiter, os.WNOHANG) == (0, 0), flush=True)
fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack("hhqqi4x", fcntl.F_UNLCK, 0, 0, 0, 0))
os.waitpid(waiter, 0)
print("done", flush=True)
"""


def test_lock_wait_does_not_block_the_loop(platform, tmp_path):
    r = sandboxed(platform, sys.executable, "-c", SCRIPT, str(tmp_path / "f"),
                  flags=("-v", f"{tmp_path}:{tmp_path}"), timeout=60)
    assert r.code == 0, r
    assert r.out.decode().splitlines() == [
        "tick 0", "tick 1", "tick 2", "tick 3", "tick 4",
        "ticks done, waiter still waiting: True", "waiter got the lock", "done"], r
