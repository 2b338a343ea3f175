"""Real programs with processes, threads and signals, natively and sandboxed.

The issue's must-shows: Python's subprocess, multiprocessing (fork, spawn,
forkserver), threading, signal handlers with alarm and setitimer, fork and
waitpid, killpg; busybox sh job control, traps and timeout.
"""

import pytest

from tests.differential.compare import assert_same

MULTIPROCESSING = (
    "import multiprocessing as mp, sys\n"
    "def square(x): return x * x\n"
    "if __name__ == '__main__':\n"
    "    with mp.get_context(sys.argv[1]).Pool(4) as pool:\n"
    "        print(sys.argv[1], sum(pool.map(square, range(100))))\n"
)

PYTHON = {
    "subprocess pipes and communicate": (
        "import subprocess\n"
        "p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n"
        "print(p.communicate(b'x' * 200000)[0] == b'x' * 200000, p.returncode)\n"
        "p1 = subprocess.Popen(['echo', 'one two'], stdout=subprocess.PIPE)\n"
        "p2 = subprocess.Popen(['wc', '-w'], stdin=p1.stdout, stdout=subprocess.PIPE)\n"
        "p1.stdout.close(); print(p2.communicate()[0].strip(), p1.wait())\n"
        "print(subprocess.run('exit 3', shell=True).returncode)\n"
    ),
    "subprocess timeout": (
        "import subprocess, time\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    subprocess.run(['sleep', '10'], timeout=0.5)\n"
        "except subprocess.TimeoutExpired as e:\n"
        "    print('timeout', round(e.timeout, 1), time.monotonic() - t < 5)\n"
    ),
    "subprocess preexec_fn": (
        "import os, subprocess\n"
        "out = subprocess.run(['sh', '-c', 'echo $(umask)'], capture_output=True,\n"
        "                     preexec_fn=lambda: os.umask(0o077)).stdout\n"
        "print(out, subprocess.run(['true'], preexec_fn=os.setsid).returncode)\n"
    ),
    "threading with a Condition": (
        "import threading\n"
        "cond = threading.Condition(); items = []; done = []\n"
        "def consumer(i):\n"
        "    with cond:\n"
        "        while not items: cond.wait()\n"
        "        done.append(items.pop())\n"
        "ts = [threading.Thread(target=consumer, args=(i,)) for i in range(8)]\n"
        "[t.start() for t in ts]\n"
        "for i in range(8):\n"
        "    with cond: items.append(i); cond.notify()\n"
        "[t.join() for t in ts]\n"
        "print(sorted(done), threading.active_count())\n"
    ),
    "signal alarm and setitimer": (
        "import signal, time\n"
        "got = []\n"
        "signal.signal(signal.SIGALRM, lambda s, f: got.append('alarm'))\n"
        "signal.alarm(1); time.sleep(3); print(got)\n"
        "signal.signal(signal.SIGALRM, lambda s, f: got.append('itimer'))\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)\n"
        "while got.count('itimer') < 3: signal.pause()\n"
        "signal.setitimer(signal.ITIMER_REAL, 0)\n"
        "print(got[:4])\n"
    ),
    "fork and waitpid": (
        "import os\n"
        "kids = []\n"
        "for i in range(5):\n"
        "    pid = os.fork()\n"
        "    if pid == 0: os._exit(i)\n"
        "    kids.append(pid)\n"
        "print(sorted(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids))\n"
        "try: os.waitpid(-1, os.WNOHANG)\n"
        "except ChildProcessError: print('no more children')\n"
    ),
    "killpg": (
        "import os, signal, time\n"
        "r, w = os.pipe()\n"
        "leader = os.fork()\n"
        "if leader == 0:\n"
        "    os.setpgid(0, 0)\n"
        "    if os.fork() == 0: os.write(w, b'x'); time.sleep(30); os._exit(0)\n"
        "    time.sleep(30); os._exit(0)\n"
        "os.read(r, 1)\n"
        "os.killpg(leader, signal.SIGTERM)\n"
        "print(os.waitstatus_to_exitcode(os.waitpid(leader, 0)[1]))\n"
    ),
}

SHELL = {
    "background job killed": "sleep 10 & kill %1; wait; echo status $?",
    "trap handlers": "trap 'echo got USR1' USR1; trap 'echo bye' EXIT; kill -USR1 $$; echo after",
    "timeout": "timeout 1 sleep 5; echo status $?",
    "subshell exit statuses": "(exit 7); echo $?; sh -c 'kill -TERM $$'; echo $?",
    "wait for several jobs": "for i in 1 2 3; do (sleep 0.$i; exit $i) & done; wait; echo all done",
}


@pytest.mark.parametrize("code", PYTHON.values(), ids=PYTHON.keys())
def test_python(platform, code):
    assert_same(platform, ["python3", "-c", code])


@pytest.mark.parametrize("script", SHELL.values(), ids=SHELL.keys())
def test_busybox_sh(platform, busybox, script):
    assert_same(platform, [busybox, "sh", "-c", script])


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_pool(platform, tmp_path, method):
    script = tmp_path / "pool.py"  # spawn and forkserver re-import __main__ from a file
    script.write_text(MULTIPROCESSING)
    assert_same(platform, ["python3", str(script), method], timeout=60)
