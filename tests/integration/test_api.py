"""The Python API (runsc_py.Sandbox, runsc_py.Pool), as a platform running
untrusted code would use it: results shaped like subprocess's, budgets
that hold, files in and out that never lead to the host, and a warm pool
where nothing of one request reaches the next."""
from __future__ import annotations

import asyncio
import glob
import subprocess
import threading
import time

import pytest

from runsc_py import Pool, Sandbox

MARK = "1797.4242"   # a sleep only these tests start: found on the host if one escaped


@pytest.fixture
def sandbox(platform):
    with Sandbox(platform=platform, timeout=60) as sb:
        yield sb


def test_a_run_is_what_subprocess_would_say(sandbox):
    argv = ["sh", "-c", "echo out; echo err >&2; exit 3"]
    native = subprocess.run(argv, capture_output=True)
    r = sandbox.run(argv)
    assert (r.returncode, r.stdout, r.stderr) == (native.returncode, native.stdout, native.stderr)
    assert r.signal is None and not r.timed_out and r.wall_time > 0 and r.max_rss > 0
    with pytest.raises(subprocess.CalledProcessError):
        r.check_returncode()


def test_code_in_input_out_and_files_back(sandbox):
    sandbox.write_file("/work/app/main.py", "import sys\nprint(sys.stdin.read().upper())\n"
                                            "open('/work/app/out.txt', 'w').write('done')\n")
    r = sandbox.run(["python3", "app/main.py"], input=b"hello")   # (the cwd is the workdir)
    assert (r.returncode, r.stdout) == (0, b"HELLO\n"), r
    assert sandbox.read_file("/work/app/out.txt") == b"done"


def test_the_sentry_of_a_run_imports_nothing_from_the_callers_cwd(sandbox):
    """`id` makes the sentry import a module late, after it confined
    itself: with the caller's cwd on its sys.path that import asked for
    getcwd, which its filter forbids, and the run died of SIGSYS."""
    r = sandbox.run(["id", "-un"])
    assert (r.returncode, r.stdout) == (0, b"root\n"), r


def test_a_signal_is_reported_as_subprocess_does(sandbox):
    r = sandbox.run(["sh", "-c", "kill -TERM $$"])
    assert (r.returncode, r.signal) == (-15, 15), r


def test_the_timeout_ends_every_process_of_the_run(sandbox):
    r = sandbox.run(["sh", "-c", f"sleep {MARK} & sleep {MARK}"], timeout=2)
    assert r.timed_out and r.returncode < 0, r
    left = subprocess.run(["pgrep", "-f", f"sleep {MARK}"], capture_output=True)
    assert left.stdout == b"", "a process of the run outlived its timeout"


def test_output_beyond_the_limit_is_cut_and_said(platform):
    with Sandbox(platform=platform, output_limit="64k", timeout=60) as sb:
        r = sb.run(["sh", "-c", "head -c 3000000 /dev/zero; echo tail >&2"])
    assert len(r.stdout) == 65536 and r.stdout_truncated, (len(r.stdout), r.stdout_truncated)
    assert (r.stderr, r.stderr_truncated, r.returncode) == (b"tail\n", False, 0)


def test_unimplemented_syscalls_are_in_the_result(sandbox, program):
    sandbox.write_file("/work/sys", open(program("sys"), "rb").read(), mode=0o755)
    r = sandbox.run(["/work/sys", "139", "buf"])   # sysfs(2): not in the table
    assert r.stdout == b"ret=-1 errno=38\n", r
    assert [row["name"] for row in r.unimplemented] == ["sysfs"], r.unimplemented


def test_files_come_out_without_following_what_the_workload_planted(sandbox):
    r = sandbox.run(["sh", "-c", "ln -s /etc/hostname /work/link && mkdir /work/d "
                                 "&& ln -s /etc /work/d/up && echo ok > /work/d/plain"])
    assert r.returncode == 0, r
    for path in ("/work/link", "/work/d/up/hostname", "/work/d/up"):
        with pytest.raises(OSError):
            sandbox.read_file(path)
        with pytest.raises(OSError):
            sandbox.write_file(path if path != "/work/d/up" else "/work/d/up/x", b"x")
    assert sandbox.read_file("/work/d/plain") == b"ok\n"
    assert sandbox.run(["mkfifo", "/work/fifo"]).returncode == 0
    for call in (lambda: sandbox.read_file("/work/fifo"), lambda: sandbox.write_file("/work/fifo", "x")):
        with pytest.raises(OSError):   # refused at once, never a wait for a writer or reader
            call()
    for outside in ("/etc/passwd", "/work/../etc/passwd", "relative/../../x"):
        with pytest.raises(ValueError):
            sandbox.read_file(outside)


def test_the_host_root_is_never_written(sandbox, tmp_path):
    r = sandbox.run(["sh", "-c", f"echo x > {tmp_path}/written; cat {tmp_path}/written"])
    assert (r.returncode, r.stdout) == (0, b"x\n"), r
    assert not (tmp_path / "written").exists()


def test_the_memory_limit_kills_and_says_so_and_leaves_no_cgroup(platform):
    with Sandbox(platform=platform, memory="64M", timeout=60) as sb:
        r = sb.run(["python3", "-c", "x = [bytearray(1 << 20) for _ in range(300)]"])
        assert r.oom_killed and r.returncode == -9, r
        r = sb.run(["python3", "-c", "x = bytearray(8 << 20); print('fits')"])
        assert (r.returncode, r.stdout, r.oom_killed) == (0, b"fits\n", False), r
    # a watcher removes each run's cgroup once its sandbox is gone: by now, or very soon
    deadline = time.monotonic() + 30
    while glob.glob("/sys/fs/cgroup/*/runsc-py/do-*") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert glob.glob("/sys/fs/cgroup/*/runsc-py/do-*") == []


def test_user_and_file_size_limit(platform, tmp_path):
    """user= runs the code as a sandbox user without capabilities, who can read
    what write_file put in the workdir; file_size_limit= is RLIMIT_FSIZE, as
    `prlimit --fsize` gives it natively: the file stops there, and a writer
    that does not ignore SIGXFSZ dies of it."""
    write = "head -c 4096 /dev/zero > {0}; wc -c < {0}; exec head -c 4096 /dev/zero > {0}"
    native = subprocess.run(["prlimit", "--fsize=1024", "sh", "-c",
                             write.format(tmp_path / "big")], capture_output=True)
    with Sandbox(platform=platform, user="1000:100", file_size_limit="1K", timeout=60) as sb:
        sb.write_file("given.txt", "read me")
        r = sb.run(["sh", "-c", "id -u; id -g; grep CapEff /proc/self/status; cat given.txt"])
        assert (r.returncode, r.stdout) == (0, b"1000\n100\nCapEff:\t0000000000000000\nread me"), r
        r = sb.run(["sh", "-c", write.format("/tmp/big")])
    assert native.returncode == -25 and native.stdout.strip() == b"1024", native   # SIGXFSZ
    assert (r.returncode, r.stdout) == (native.returncode, native.stdout), (r, native)


def test_popen_streams_to_and_from_a_running_sandbox(sandbox):
    proc = sandbox.popen(["python3", "-u", "-c",
                          "import sys\nfor line in sys.stdin: print(line.strip()[::-1])"])
    try:
        for word in (b"abc", b"sandbox"):
            proc.stdin.write(word + b"\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == word[::-1] + b"\n"
    finally:
        proc.kill()
        proc.wait()


def test_one_event_loop_drives_many_sandboxes(platform):
    async def main():
        with Sandbox(platform=platform, timeout=60) as sb:
            return await asyncio.gather(*(sb.arun(["sh", "-c", f"echo {n}"]) for n in range(4)))

    assert [r.stdout for r in asyncio.run(main())] == [b"0\n", b"1\n", b"2\n", b"3\n"]


def test_bad_arguments_are_clear():
    for kwargs in ({"root": "/srv"}, {"network": "bridge"}, {"workdir": "/"},
                   {"memory": "lots"}, {"user": "nobody"}, {"user": "1000:x"},
                   {"file_size_limit": "big"}):
        with pytest.raises(ValueError):
            Sandbox(**kwargs)


# -- the pool -----------------------------------------------------------------

@pytest.fixture(scope="module")
def pool():
    template = Sandbox(timeout=60)
    template.write_file("/work/given.txt", "from the template")
    with Pool(size=2, template=template, prepare=["python3", "-c", "import json"]) as p:
        yield p
    template.close()


def test_the_pool_runs_code_and_commands(pool):
    r = pool.run(code="import json, sys; print(json.dumps(sys.argv), sys.stdin.read())",
                 args=["a"], input="in")
    assert (r.returncode, r.stdout) == (0, b'["<request>", "a"] in\n'), r
    r = pool.run(["sh", "-c", 'echo "$GREETING" from "$(pwd)"; cat /work/given.txt'],
                 env={"GREETING": "hi", "PATH": "/usr/bin:/bin"})
    assert r.stdout == b"hi from /work\nfrom the template", r


STATE_LEFT = f"""
import os, subprocess, socket
open("/tmp/left", "w").write("x")
open("/work/left", "w").write("x")
open("/work/given.txt", "a").write(" changed")
os.environ["LEFT"] = "x"
socket.sethostname("left")
subprocess.Popen(["setsid", "sleep", "{MARK}"])
fd = os.open("/work/given.txt", os.O_RDONLY)
os.set_inheritable(fd, True)
print("left", fd)
"""
STATE_FOUND = f"""
import os, socket, subprocess
print(os.path.exists("/tmp/left"), os.path.exists("/work/left"), open("/work/given.txt").read())
print(os.environ.get("LEFT"), socket.gethostname() == "left")
print(subprocess.run(["pgrep", "-f", "sleep {MARK}"], capture_output=True).stdout)
print(sorted(os.listdir("/proc/self/fd")))
"""


def test_no_state_passes_from_one_request_to_the_next(pool):
    """Files (the overlay and the workdir), the environment, the host name,
    processes and fds: each request starts from the template alone."""
    for _ in range(2):   # (two rounds: the second takes sandboxes booted after the first)
        left = pool.run(code=STATE_LEFT, env={"PATH": "/usr/bin:/bin", "HOME": "/"})
        assert left.returncode == 0 and left.stdout.startswith(b"left"), left
        found = pool.run(code=STATE_FOUND, env={"PATH": "/usr/bin:/bin", "HOME": "/"})
        assert found.stdout.decode().splitlines() == [
            "False False from the template", "None False", "b''", "['0', '1', '2', '3']"], found
    assert pool.template.read_file("/work/given.txt") == b"from the template"


def test_concurrent_callers_each_get_a_sandbox(pool):
    results = []

    def caller(n: int) -> None:
        for i in range(2):
            results.append(pool.run(code=f"print({n} * 10 + {i})"))

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.stdout for r in results) == sorted(f"{n * 10 + i}\n".encode()
                                                       for n in range(4) for i in range(2))
