"""The pids limit (kernel.limits.pids, `--pids-limit`): clones past it fail with EAGAIN."""
import subprocess
import sys
import time

from tests.conftest import RUNSC_PY, sandboxed

COUNT_FORKS = """
import os, time
n = 0
while True:
    try:
        pid = os.fork()
    except BlockingIOError:
        break
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    n += 1
print(n)
os.kill(-1, 9)
"""

FORK_BOMB = """
bomb() { bomb | bomb & }
bomb 2>/dev/null
sleep 2
kill -9 -1
echo survived
"""


def test_forks_stop_at_the_limit(platform):
    r = sandboxed(platform, "python3", "-c", COUNT_FORKS, flags=("--pids-limit", "10"))
    assert r.out == b"9\n", r  # init + 9 children are the 10 tasks allowed


def test_threads_count_towards_the_limit(platform):
    code = ("import threading, time\n"
            "ts = []\n"
            "try:\n"
            "    for i in range(10):\n"
            "        t = threading.Thread(target=time.sleep, args=(1,)); t.start(); ts.append(t)\n"
            "except RuntimeError as e: print(len(ts), e)\n")
    r = sandboxed(platform, "python3", "-c", code, flags=("--pids-limit", "4"))
    assert r.out == b"3 can't start new thread\n", r


def test_fork_bomb_is_contained(platform, busybox, tmp_path):
    """A fork bomb hits EAGAIN, the host stays responsive, the sandbox exits cleanly."""
    script = tmp_path / "bomb.sh"
    script.write_text(FORK_BOMB)
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", "--pids-limit", "32", "--",
                                        busybox, "sh", str(script)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1)
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=30)
    host_latency = time.monotonic() - start
    out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out == b"survived\n", (proc.returncode, out)
    assert host_latency < 5, host_latency
