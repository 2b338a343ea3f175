"""Signals and process lifetimes stay inside the sandbox.

kill(-1) reaches only the sandbox's processes; the death of the sandbox's
pid 1 ends the sandbox; orphans are reparented and reaped, leaving no zombie.
"""
import os
import subprocess
import sys
import time

from tests.conftest import RUNSC_PY, finish, sandboxed


def test_kill_minus_one_reaches_only_the_sandbox(platform, busybox):
    host = subprocess.Popen(["sleep", "30"])
    try:
        r = sandboxed(platform, busybox, "sh", "-c", "sleep 10 & kill -9 -1; wait $!; echo $?")
        assert r.out == b"137\n", r  # its own background job died, the shell (init) did not
        time.sleep(0.2)
        assert host.poll() is None, "a host process was killed from inside the sandbox"
    finally:
        host.kill()
        host.wait()


def test_kill_permission_uses_sandbox_credentials(platform):
    if os.geteuid() != 0:
        return
    code = ("import os, time\n"
            "pid = os.fork()\n"
            "if pid == 0: time.sleep(5); os._exit(0)\n"
            "if os.fork() == 0:\n"
            "    os.setuid(1000)\n"
            "    try: os.kill(pid, 9)\n"
            "    except PermissionError: print('EPERM')\n"
            "    os._exit(0)\n"
            "os.wait(); os.kill(pid, 9); os.waitpid(pid, 0)\n")
    r = sandboxed(platform, "python3", "-c", code)
    assert r.out == b"EPERM\n", r


def test_init_exit_ends_the_sandbox(platform):
    start = time.monotonic()
    r = sandboxed(platform, "python3", "-c",
                  "import os, time\nif os.fork() == 0: time.sleep(60)\nprint('init exits')", timeout=30)
    assert (r.code, r.out) == (0, b"init exits\n"), r
    assert time.monotonic() - start < 15


def _descendants(root: int) -> list[tuple[int, str]]:
    children: dict[int, list[tuple[int, str]]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append((int(name), fields[0]))
    out, todo = [], [root]
    while todo:
        for pid, state in children.get(todo.pop(), []):
            out.append((pid, state))
            todo.append(pid)
    return out


def test_double_fork_daemon_leaves_no_zombie(platform, busybox):
    script = "( sh -c 'sleep 0.2' & ); sleep 1; echo ready; sleep 2"
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", "--", busybox, "sh", "-c", script],
                            stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        states = [state for _pid, state in _descendants(proc.pid)]
        assert states and "Z" not in states, states
    finally:
        finish(proc)
    assert proc.returncode == 0


def test_orphan_sees_init_as_parent(platform):
    code = ("import os, time\n"
            "r, w = os.pipe()\n"
            "if os.fork() == 0:\n"
            "    if os.fork() == 0:\n"
            "        time.sleep(0.3); os.write(w, str(os.getppid()).encode()); os._exit(0)\n"
            "    os._exit(0)\n"
            "os.wait(); os.close(w); print(os.read(r, 10).decode()); time.sleep(0.2)\n")
    r = sandboxed(platform, sys.executable, "-c", code)
    assert r.out == b"1\n", r


def test_subreaper_adopts_orphans(platform):
    code = ("import ctypes, os, time\n"
            "r, w = os.pipe()\n"
            "if os.fork() == 0:\n"
            "    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER\n"
            "    if os.fork() == 0:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(0.3); os.write(w, str(os.getppid()).encode()); os._exit(0)\n"
            "        os._exit(0)\n"
            "    os.wait(); os.close(w); time.sleep(0.5); print(os.getpid(), os.read(r, 10).decode()); os._exit(0)\n"
            "os.close(w); os.wait()\n")
    r = sandboxed(platform, sys.executable, "-c", code)
    assert r.out == b"2 2\n", r


def test_tasks_killed_mid_exec_do_not_take_the_sentry_down(platform, program):
    r = sandboxed(platform, program("exec_killed"))
    assert (r.code, r.out) == (0, b"done\n"), r
    assert b"Traceback" not in r.err, r
