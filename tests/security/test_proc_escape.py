"""Attacks through /proc and /dev: none may reach a host object the sandbox
was not given, name a host path outside its root, or show a host pid.

`runsc-py do` makes the host's root the sandbox's (read-only) root, so
"outside the root" is not a place these tests can point at; they attack
what is outside the sandbox in every configuration instead: the sentry's
and the gofer's own host fds, host pids, files the caller passed in, the
host's ptys, and the read-only root itself (hashed before and after).
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import time

import pytest

from tests.conftest import RUNSC_PY, sandboxed

# pid-bearing fields must be the sandbox's small virtual pids; the host's are
# above 300 (Linux reserves those below 300 once pids wrap)
HOST_PID_FLOOR = 300

PROBE_FDS = r"""
import errno, json, os
listed = sorted(int(n) for n in os.listdir('/proc/self/fd'))
reached = {}
for n in range(1024):
    for path in (f'/proc/self/fd/{n}', f'/dev/fd/{n}'):
        got = []
        for probe in (lambda: os.readlink(path), lambda: os.close(os.open(path, os.O_RDONLY)),
                      lambda: os.stat(path)):
            try:
                probe()
                got.append('ok')
            except OSError as exc:
                got.append(errno.errorcode[exc.errno])
        if 'ok' in got:
            reached[path] = got
print(json.dumps({'listed': listed, 'reached': sorted(reached)}))
"""


def run_json(platform: str, source: str, **kw) -> dict:
    r = sandboxed(platform, sys.executable, "-c", source, **kw)
    assert r.code == 0, r
    return json.loads(r.out)


def test_only_the_workloads_own_fds_are_reachable(platform):
    result = run_json(platform, PROBE_FDS)
    listed = set(result["listed"]) - {max(result["listed"])}   # listdir's own fd is closed again
    reached = {int(p.rsplit("/", 1)[1]) for p in result["reached"]}
    assert reached == listed, result
    assert listed >= {0, 1, 2}


def test_sentry_and_gofer_fds_are_unreachable(platform):
    """Their host fd numbers, read from outside while the sandbox runs, are closed inside."""
    marker = f"probe-{os.getpid()}-{platform}"
    sentry = subprocess.Popen(
        RUNSC_PY + ["do", f"--platform={platform}", "--", sys.executable, "-c",
                    _PROBE_LISTED_FROM_STDIN, marker],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        host_fds = _host_fds_of_tree(sentry.pid)
        assert host_fds, "found no sentry or gofer fds to attack"
        out, err = sentry.communicate(json.dumps(sorted(host_fds)).encode() + b"\n", timeout=60)
    finally:
        sentry.kill()
        sentry.wait()
    result = json.loads(out)
    assert result["reached"] == [], (result, err)


_PROBE_LISTED_FROM_STDIN = r"""
import json, os
numbers = json.loads(input())
mine = set(int(n) for n in os.listdir('/proc/self/fd'))
reached = []
for n in numbers:
    if n in mine:
        continue
    for path in (f'/proc/self/fd/{n}', f'/proc/1/fd/{n}'):
        try:
            os.readlink(path)
            reached.append(path)
        except OSError:
            pass
        try:
            os.close(os.open(path, os.O_RDONLY))
            reached.append(path + ' (open)')
        except OSError:
            pass
print(json.dumps({'reached': reached}))
"""


def _host_fds_of_tree(root_pid: int) -> set[int]:
    """The fd numbers the sentry (root_pid) and its gofer hold on the host: the
    processes of the tree in our pid namespace (the workload has its own)."""
    deadline = time.time() + 20
    ours = os.readlink("/proc/self/ns/pid")
    sentry_side: list[int] = []
    while time.time() < deadline:
        pids = [root_pid] + _children(root_pid)
        sentry_side = [p for p in pids if _pid_ns(p) == ours]
        if len(pids) >= 3 and len(sentry_side) < len(pids):   # the workload has started
            break
        time.sleep(0.05)
    fds: set[int] = set()
    for pid in sentry_side:
        try:
            fds |= {int(n) for n in os.listdir(f"/proc/{pid}/fd")}
        except FileNotFoundError:
            pass
    return fds - {0, 1, 2}


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []
    return out + [g for c in out for g in _children(c)]


def _pid_ns(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except FileNotFoundError:
        return ""


WALK = r"""
import json, os, stat
texts, links, names = {}, {}, []
def walk(path, depth):
    try:
        entries = os.listdir(path)
    except OSError:
        return
    for name in entries:
        full = path.rstrip('/') + '/' + name
        names.append(full)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            try:
                links[full] = os.readlink(full)
            except OSError:
                pass
        elif stat.S_ISDIR(st.st_mode) and depth < 6 and name not in ('net',):
            walk(full, depth + 1)
        elif stat.S_ISREG(st.st_mode):
            try:
                with open(full, 'rb') as f:
                    texts[full] = f.read(1 << 20).decode('latin-1')
            except OSError:
                pass
walk('/proc', 0)
print(json.dumps({'texts': texts, 'links': links, 'names': names}))
"""


@pytest.fixture(scope="module", params=["seccomp", "ptrace"])
def proc_walk(request):
    r = sandboxed(request.param, sys.executable, "-c", WALK)
    assert r.code == 0, r
    return json.loads(r.out)


def test_proc_lists_no_host_pid(proc_walk):
    for name in proc_walk["names"]:
        for part in name.split("/"):
            if part.isdigit():
                assert int(part) < HOST_PID_FLOOR, name


def test_pid_fields_are_virtual(proc_walk):
    texts = proc_walk["texts"]
    checked = 0
    for path, text in texts.items():
        if path.endswith("/stat") and re.match(r"/proc/\d+(/task/\d+)?/stat$", path):
            fields = text.rsplit(")", 1)[1].split()
            ids = [int(text.split()[0])] + [int(fields[i]) for i in (1, 2, 3, 5)]
            assert all(-1 <= i < HOST_PID_FLOOR for i in ids), (path, text)
            checked += 1
        elif path.endswith("/status"):
            for key in ("Tgid", "Ngid", "Pid", "PPid", "TracerPid", "NStgid", "NSpid", "NSpgid",
                        "NSsid"):
                value = re.search(rf"(?m)^{key}:\s*(.*)$", text).group(1)
                assert all(int(v) < HOST_PID_FLOOR for v in value.split()), (path, key, value)
            checked += 1
    assert checked >= 4
    last_pid = int(texts["/proc/loadavg"].split()[-1])
    assert last_pid < HOST_PID_FLOOR


NAMESPACE_LINK = re.compile(r"^(cgroup|ipc|mnt|net|pid|time|user|uts):\[(\d+)\]$")


def test_links_name_nothing_of_the_host(proc_walk):
    allowed = re.compile(r"^(/|pipe:\[\d+\]$|socket:\[\d+\]$|anon_inode:|\d+$|\d+/task/\d+$|self/)")
    hosts_namespaces = {os.readlink(f"/proc/self/ns/{kind}") for kind in os.listdir("/proc/self/ns")}
    namespaces = 0
    for path, target in proc_walk["links"].items():
        if NAMESPACE_LINK.match(target):   # /proc/<pid>/ns: never one of the host's numbers
            assert target not in hosts_namespaces, (path, target)
            namespaces += 1
            continue
        assert allowed.match(target), (path, target)
        assert "host:" not in target and "runsc" not in target.lower(), (path, target)
    assert namespaces >= 10
    assert proc_walk["links"]["/proc/self"].isdigit()
    assert proc_walk["links"]["/proc/1/root"] == "/"


def test_root_links_stay_in_the_sandbox(platform):
    source = r"""
import os
a = os.stat('/proc/self/root/proc/1/root/proc/self/status')
b = os.stat('/proc/self/status')
c = os.stat('/proc/1/root/proc')
print(a.st_dev == b.st_dev, c.st_dev == os.stat('/proc').st_dev)
print(sorted(os.listdir('/proc/self/root')) == sorted(os.listdir('/')))
os.chdir('/usr')
print(os.readlink('/proc/self/cwd'), sorted(os.listdir('/proc/self/cwd')) == sorted(os.listdir('/usr')))
"""
    r = sandboxed(platform, sys.executable, "-c", source)
    assert r.out == b"True True\nTrue\n/usr True\n", r
    host_proc_dev = os.stat("/proc").st_dev
    r = sandboxed(platform, sys.executable, "-c",
                  "import os; print(os.stat('/proc/1/root/proc/self').st_dev)")
    assert int(r.out) != host_proc_dev, r


REOPEN_FOR_WRITING = r"""
import errno, os, sys
victim = sys.argv[1]
results = []
fd = os.open(victim, os.O_RDONLY)
for flags in (os.O_RDWR, os.O_WRONLY, os.O_WRONLY | os.O_TRUNC, os.O_RDONLY | os.O_TRUNC):
    for path in (f'/proc/self/fd/{fd}', f'/dev/fd/{fd}', f'/proc/1/fd/{fd}'):
        try:
            w = os.open(path, flags)
            os.write(w, b'pwned')
            results.append('wrote')
        except OSError as exc:
            results.append(errno.errorcode[exc.errno])
try:
    p = os.open(victim, os.O_PATH)
    for flags in (os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
        try:
            os.write(os.open(f'/proc/self/fd/{p}', flags), b'pwned')
            results.append('wrote')
        except OSError as exc:
            results.append(errno.errorcode[exc.errno])
except OSError as exc:
    results.append('no O_PATH: ' + errno.errorcode[exc.errno])
print(sorted(set(results)), open(victim, 'rb').read()[:5] == b'pwned')
"""


@pytest.mark.parametrize("overlay", ["memory", "none"])
def test_reopen_cannot_write_a_host_rootfs_file(platform, overlay):
    """Through /proc/self/fd, a write reaches the file by its mount: the
    overlay copies it up, a read-only root refuses; the host file never changes."""
    victim = "/etc/os-release"  # a rootfs file (the sandbox has its own /etc/hostname)
    before = hashlib.sha256(open(victim, "rb").read()).hexdigest()
    r = sandboxed(platform, sys.executable, "-c", REOPEN_FOR_WRITING, victim,
                  flags=(f"--overlay={overlay}",))
    assert r.code == 0, r
    if overlay == "memory":
        assert r.out.endswith(b"True\n") and b"wrote" in r.out, r   # the sandbox's copy changed
    else:
        answers, changed = r.out.decode().rsplit(" ", 1)
        assert changed == "False\n" and "EROFS" in answers, r
        assert set(eval(answers)) <= {"EROFS", "EACCES"}, r
    assert hashlib.sha256(open(victim, "rb").read()).hexdigest() == before


def test_a_file_passed_in_read_only_stays_read_only(platform, tmp_path):
    """`runsc-py do cmd <file`: the sentry (root) could write that host file; the workload must not."""
    victim = tmp_path / "passed-in"
    victim.write_bytes(b"original\n")
    victim.chmod(0o666)
    source = r"""
import errno, os
out = []
for flags in (os.O_RDWR, os.O_WRONLY, os.O_WRONLY | os.O_APPEND, os.O_RDONLY | os.O_TRUNC):
    try:
        os.write(os.open('/proc/self/fd/0', flags), b'pwned')
        out.append('WROTE')
    except OSError as exc:
        out.append(errno.errorcode[exc.errno])
r = os.open('/proc/self/fd/0', os.O_RDONLY)
try:
    os.write(os.open(f'/proc/self/fd/{r}', os.O_RDWR), b'pwned')
    out.append('WROTE twice removed')
except OSError as exc:
    out.append(errno.errorcode[exc.errno])
print(out, os.read(r, 100))
"""
    with open(victim, "rb") as stdin:
        r = sandboxed(platform, sys.executable, "-c", source, stdin=stdin)
    assert r.out == b"['EACCES', 'EACCES', 'EACCES', 'EACCES', 'EACCES'] b'original\\n'\n", r
    assert victim.read_bytes() == b"original\n"


def test_host_ptys_are_not_reachable(platform, busybox):
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        r = sandboxed(platform, busybox, "sh", "-c",
                      f"ls /dev/pts; cat {name}; echo x > {name}; test -e {name}; echo $?")
        assert r.out == b"1\n", r
        assert b"No such file" in r.err, r
    finally:
        os.close(master)
        os.close(slave)


def test_the_sandbox_pty_works_and_vanishes(platform):
    source = r"""
import fcntl, os, struct
m = os.open('/dev/ptmx', os.O_RDWR | os.O_NOCTTY)
n = struct.unpack('I', fcntl.ioctl(m, 0x80045430, b'\0' * 4))[0]
fcntl.ioctl(m, 0x40045431, struct.pack('i', 0))
s = os.open(f'/dev/pts/{n}', os.O_RDWR | os.O_NOCTTY)
os.write(s, b'ping\n')
print(os.listdir('/dev/pts') == [str(n)], os.read(m, 100).strip())
os.close(s); os.close(m)
print(os.listdir('/dev/pts'), os.path.exists(f'/dev/pts/{n}'))
"""
    r = sandboxed(platform, sys.executable, "-c", source)
    assert r.out == b"True b'ping'\n[] False\n", r


def test_devfs_has_nothing_else(platform, busybox):
    r = sandboxed(platform, busybox, "sh", "-c",
                  "for d in sda mem kmem port kmsg loop0 vda nvme0 fuse; do"
                  " test -e /dev/$d && echo $d; done; mknod /dev/x c 1 3 2>/dev/null; echo $?")
    assert r.out == b"1\n", r
