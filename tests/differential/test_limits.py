"""RLIMIT_NPROC, enforced by the sentry per sandbox uid, natively and sandboxed.

Every sandbox task has the sandbox's host uid, so the host cannot count a
sandbox user's tasks: the sentry does, at clone (EAGAIN past the limit for
a non-root user without CAP_SYS_RESOURCE/CAP_SYS_ADMIN, threads
included), and at exec after a set*uid call made the process a user
already past its limit (Linux's PF_NPROC_EXCEEDED).
"""
import os

import pytest

from tests.differential.compare import assert_same

NPROC = r'''
import os, resource, signal, threading, time

def fork_sleeper(then=None):
    pid = os.fork()
    if pid == 0:
        if then: then()
        time.sleep(60)
        os._exit(0)
    return pid

def become_user():
    os.setgid(1000); os.setuid(1000)

resource.setrlimit(resource.RLIMIT_NPROC, (3, 3))
# a user at its limit: forks and threads past it fail with EAGAIN
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    become_user()
    kids = []
    for i in range(4):
        try:
            kids.append(fork_sleeper())
        except BlockingIOError:
            print("user fork", i, "EAGAIN"); break
    try:
        threading.Thread(target=lambda: None).start(); print("thread started")
    except RuntimeError as e:
        print("thread:", e)
    for k in kids: os.kill(k, signal.SIGKILL); os.waitpid(k, 0)
    kids = [fork_sleeper()]
    print("after reaping, fork works again:", len(kids))
    for k in kids: os.kill(k, signal.SIGKILL); os.waitpid(k, 0)
    os._exit(0)
os.waitpid(pid, 0)
# root is exempt
kids = [fork_sleeper() for _ in range(5)]
print("root forked", len(kids))
for k in kids: os.kill(k, signal.SIGKILL); os.waitpid(k, 0)
# set_user() past the limit marks the process; its exec fails with EAGAIN
resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
sleepers = [fork_sleeper(become_user) for _ in range(2)]
time.sleep(0.3)
pid = os.fork()
if pid == 0:
    become_user()
    try:
        os.execv("/bin/true", ["true"])
    except BlockingIOError:
        print("exec after setuid past the limit: EAGAIN")
    os._exit(0)
os.waitpid(pid, 0)
for k in sleepers: os.kill(k, signal.SIGKILL); os.waitpid(k, 0)
pid = os.fork()
if pid == 0:
    become_user()
    os.execv("/bin/echo", ["echo", "exec under the limit works"])
os.waitpid(pid, 0)
'''

# A zombie counts against its user's limit until its parent reaps it.
ZOMBIES = r'''
import os, resource
resource.setrlimit(resource.RLIMIT_NPROC, (3, 3))
os.setgid(1000); os.setuid(1000)
zombies = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)   # exited, not reaped
    zombies.append(pid)
try:
    pid = os.fork()
    if pid == 0: os._exit(0)
    os.waitpid(pid, 0); print("fork beside two zombies works")
except BlockingIOError:
    print("fork beside two zombies: EAGAIN")
os.waitpid(zombies.pop(), 0)
pid = os.fork()
if pid == 0: os._exit(0)
os.waitpid(pid, 0); print("fork after reaping one works")
os.waitpid(zombies.pop(), 0)
'''


def _host_tasks_of(uid: int) -> int:
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            count += os.stat(f"/proc/{pid}").st_uid == uid
        except FileNotFoundError:
            pass
    return count


@pytest.mark.skipif(os.geteuid() != 0, reason="the native side must start as root to change ids")
def test_rlimit_nproc(platform):
    if _host_tasks_of(1000):
        pytest.skip("uid 1000 has host processes: natively they count against its limit")
    assert_same(platform, ["python3", "-c", NPROC])


@pytest.mark.skipif(os.geteuid() != 0, reason="the native side must start as root to change ids")
def test_rlimit_nproc_counts_zombies(platform):
    if _host_tasks_of(1000):
        pytest.skip("uid 1000 has host processes: natively they count against its limit")
    assert_same(platform, ["python3", "-c", ZOMBIES])
