"""Zombies: a child that has exited but is not reaped, as /proc, ps and kill see it.

Run natively (as root) and sandboxed, the output must match. Pids are
printed only relative to each other, never as numbers.
"""
import ctypes
import errno
import os
import subprocess
import sys


def exited_unreaped(then=None) -> int:
    pid = os.fork()
    if pid == 0:
        if then:
            then()
        os._exit(7)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)   # a zombie now, still unreaped
    return pid


def error_of(call, *args) -> str:
    try:
        call(*args)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]


pid = exited_unreaped()
with open(f"/proc/{pid}/stat") as f:
    stat = f.read()
print("stat: comm", stat[stat.index("(") + 1:stat.rindex(")")], "state", stat.rsplit(")", 1)[1].split()[0],
      "ppid is me", int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid())
with open(f"/proc/{pid}/status") as f:
    status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
print("status:", status["State"], status["Name"], "ppid is me", int(status["PPid"]) == os.getpid(),
      "uid", status["Uid"].split()[0], "has Umask", "Umask" in status)
print("listed in /proc:", str(pid) in os.listdir("/proc"))
print("task/ holds itself:", os.listdir(f"/proc/{pid}/task") == [str(pid)])
print("fd/:", os.listdir(f"/proc/{pid}/fd"))
print("cmdline:", open(f"/proc/{pid}/cmdline", "rb").read())
for link in ("exe", "cwd", "root"):
    print(link, error_of(os.readlink, f"/proc/{pid}/{link}"))
print("kill(zombie, 0):", error_of(os.kill, pid, 0))
ps = subprocess.run([sys.argv[1], "ps", "-o", "pid,stat,comm"], capture_output=True, text=True).stdout
print("ps:", [line.split()[1:] for line in ps.splitlines() if line.split()[0] == str(pid)])
_, status = os.waitpid(pid, 0)
print("reaped: exit", os.WEXITSTATUS(status), "listed", str(pid) in os.listdir("/proc"),
      "dir", os.path.exists(f"/proc/{pid}"))

# another user's zombie: kill's permission check still applies to it
other = exited_unreaped(lambda: os.setuid(1001))
checker = os.fork()
if checker == 0:
    os.setgid(1000)
    os.setuid(1000)
    print("user 1000 kill(1001's zombie, 0):", error_of(os.kill, other, 0), flush=True)
    os._exit(0)
os.waitpid(checker, 0)
os.waitpid(other, 0)

# a zombie whose parent exits goes to the nearest subreaper: this process
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
r, w = os.pipe()
middle = os.fork()
if middle == 0:
    os.write(w, b"%d\n" % exited_unreaped())
    os._exit(0)
os.waitpid(middle, 0)
orphan = int(os.read(r, 100))
with open(f"/proc/{orphan}/status") as f:
    status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
print("orphaned zombie:", status["State"], "adopted by me", int(status["PPid"]) == os.getpid())
_, status = os.waitpid(orphan, 0)
print("adopted zombie reaped: exit", os.WEXITSTATUS(status), "listed", str(orphan) in os.listdir("/proc"))
