"""Replayed stat answers (csrc/stat_cache.c) never go stale: natively and sandboxed, the same.

Each program stats the same absolute paths twice after every change, so the
second stat is one the C loop may answer without the sentry; any change the
cache failed to forget shows as a difference from native Linux.
"""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TESTS, run, sandboxed
from tests.differential.compare import assert_same

PROGRAM = str(TESTS / "programs" / "fs" / "stat_after_changes.py")
NAMES = ["a", "b", "a/c", "b/c", "l", "f"]

EVERY_CHANGE = [
    ["mkdir", "a"], ["mkdir", "a/c"], ["create", "f"], ["append", "f", 100], ["append", "f", 5],
    ["symlink", "f", "l"], ["chmod", "a", 0o700], ["chown", "f", 1000, 1000],
    ["chown", "l", 7, 7], ["truncate", "f", 3], ["link", "f", "b"], ["unlink", "f"],
    ["rename", "a", "f"], ["rmdir", "f/c"], ["rename", "b", "f"], ["symlink", "a", "b"],
    ["rmdir", "a"], ["unlink", "l"], ["mkdir", "b/c"],
]

NAME = st.sampled_from(NAMES)
OPS = st.one_of(
    st.tuples(st.sampled_from(["mkdir", "rmdir", "create", "unlink"]), NAME),
    st.tuples(st.just("append"), NAME, st.integers(1, 4096)),
    st.tuples(st.sampled_from(["rename", "link"]), NAME, NAME),
    # Link targets stay near the compared tree: the native run is real root on
    # the host, and a link to "/" would let `b/c` create /c there. "a/.." can
    # reach the tree's parent (through `a` -> "."), made alike on both sides.
    st.tuples(st.just("symlink"), st.sampled_from(NAMES + [".", "a/..", "nowhere"]), NAME),
    st.tuples(st.just("chmod"), NAME, st.sampled_from([0o700, 0o644, 0o000, 0o1777])),
    st.tuples(st.just("truncate"), NAME, st.integers(0, 5000)),
)


def _compare(platform: str, workdir, ops) -> None:
    spec = json.dumps([list(op) for op in ops])
    # Each tree's parent holds only the tree, so a link that climbs out of it
    # (`a` -> ".", `b` -> "a/..") finds the same directory on both sides.
    for side in ("native", "sandbox"):
        (workdir / side).mkdir()
    native = run(["python3", PROGRAM, str(workdir / "native" / "tree"), spec])
    # a directory the host does not have: in the sandbox it lives in the overlay's upper layer
    inside = sandboxed(platform, "python3", PROGRAM, str(workdir / "sandbox" / "tree"), spec)
    assert native.code == 0, native
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)


def test_every_kind_of_change_is_seen(platform, tmp_path):
    _compare(platform, tmp_path, EVERY_CHANGE)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=10))
def test_random_changes_are_seen(tmp_path_factory, ops):
    _compare("seccomp", tmp_path_factory.mktemp("stat"), ops)


# GNU coreutils' stat asks statx; each answer twice, after each change.
STATX_CHANGES = """
d=$1; mkdir "$d"
show() { for n in a b l; do for follow in "" -L; do
    echo "$n$follow: $(stat $follow -c '%F %a %h %u' "$d/$n" 2>&1 | sed "s|$d/||")"; done; done
    [ -f "$d/b" ] && stat -c 'b size %s' "$d/b"; }
step() { "$@"; show; show; }
step true
step mkdir "$d/a"
step touch "$d/b"
step chmod 600 "$d/b"
step ln -s a "$d/l"
step sh -c "echo hello >> $d/b"
step chown 1000 "$d/b"
step rmdir "$d/a"
step rm "$d/l"
"""


def test_statx_answers_follow_every_change(platform, tmp_path):
    native = run(["sh", "-c", STATX_CHANGES, "sh", str(tmp_path / "native")])
    inside = sandboxed(platform, "sh", "-c", STATX_CHANGES, "sh", str(tmp_path / "sandbox"),
                       flags=("--report", "--report-format=json"))
    assert native.code == 0 and b"directory" in native.out, native
    assert (inside.code, inside.out) == (native.code, native.out)
    if platform == "seccomp":
        report = json.loads(inside.err[inside.err.index(b"{"):])
        answered = {row["name"]: row["count"] for row in report["answered_in_c"]}
        assert answered.get("statx", 0) > 10, answered


# Each child takes its own view (a chroot, an unprivileged uid), then waits
# while its parent stats the same paths; between the parent's stats and the
# child's there is no trapped call (pipes run natively), so only the view in
# the cache's key can keep the child from the parent's answers.
# What both programs below print for a path: its mode, or why there is none.
ANSWER = """
import os
def answer(path):
    try:
        return oct(os.stat(path).st_mode)
    except OSError as exc:
        return exc.strerror
"""

VIEWS = ANSWER + """
import sys
def child_with(change, paths):
    ready, go = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        change()
        os.write(ready[1], b"r")
        os.read(go[0], 1)
        print("child", [answer(p) for p in paths], flush=True)
        os._exit(0)
    os.read(ready[0], 1)
    print("parent", [answer(p) for p in paths] * 2, flush=True)
    os.write(go[1], b"g")
    os.waitpid(pid, 0)
base = sys.argv[1]
os.makedirs(base + "/jail/etc")
os.makedirs(base + "/private/inner")
os.chmod(base + "/private", 0o700)
def unprivileged():
    os.setgid(1000); os.setuid(1000)
child_with(lambda: os.chroot(base + "/jail"), ["/etc/passwd", "/etc"])
child_with(unprivileged, [base + "/private/inner"])
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot and setuid need root natively")
def test_answers_are_per_root_and_per_searcher(platform, tmp_path):
    native = run(["python3", "-c", VIEWS, str(tmp_path / "native")])
    inside = sandboxed(platform, "python3", "-c", VIEWS, str(tmp_path / "sandbox"))
    assert "Permission denied" in native.out.decode() and "No such file" in native.out.decode()
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)


# /proc/self/cwd leads to a different directory in each process, though
# both have the same view: a walk through procfs is never replayed.
PROC_SELF = ANSWER + """
import tempfile
top = tempfile.mkdtemp()
os.makedirs(top + "/full/marker"); os.mkdir(top + "/empty")
ready, go = os.pipe(), os.pipe()
if os.fork() == 0:
    os.chdir(top + "/empty")
    os.write(ready[1], b"r")
    os.read(go[0], 1)
    print("child", answer("/proc/self/cwd/marker"), answer("/proc/self"), flush=True)
    os._exit(0)
os.chdir(top + "/full")
os.read(ready[0], 1)
print("parent", answer("/proc/self/cwd/marker"), answer("/proc/self/cwd/marker"), flush=True)
os.write(go[1], b"g")
os.wait()
"""


def test_walks_through_procfs_are_never_replayed(platform):
    assert_same(platform, ["python3", "-c", PROC_SELF])


# -- opens ------------------------------------------------------------------------

OPEN_REPLAY = str(TESTS / "programs" / "fs" / "open_replay.py")


def test_replayed_opens_behave_as_opens(platform):
    """Numbers, offsets, dup, fork, threads and close-on-exec of opens C answered."""
    assert_same(platform, ["python3", OPEN_REPLAY])


def test_opens_and_stats_are_answered_in_c():
    """The tests above exercise the C answers, not only Python's. Closes are
    counted from the program's one-thread loop (600 open+read+close): C answers
    a close only while its open is not adopted yet, and threads that take turns
    call by call make each other's closes Python's (any trapped call adopts)."""
    inside = sandboxed("seccomp", "python3", OPEN_REPLAY, flags=("--report", "--report-format=json"))
    assert inside.code == 0, inside
    answered = {row["name"]: row["count"] for row in json.loads(inside.err)["answered_in_c"]}
    assert answered.get("openat", 0) > 1000 and answered.get("close", 0) > 550, answered
    stats = sandboxed("seccomp", "python3", PROGRAM, "/tmp/answered-in-c", json.dumps(EVERY_CHANGE),
                      flags=("--report", "--report-format=json"))
    answered = {row["name"]: row["count"] for row in json.loads(stats.err)["answered_in_c"]}
    assert answered.get("newfstatat", 0) > 100, answered


# A watch makes every open an event; an open answered in C would make none.
WATCHED_OPENS = """
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
for _ in range(3):
    os.close(os.open("/etc/passwd", os.O_RDONLY))
fd = libc.inotify_init1(os.O_NONBLOCK)
libc.inotify_add_watch(fd, b"/etc", 0x20 | 0x10)   # IN_OPEN | IN_CLOSE_NOWRITE
for _ in range(3):
    os.close(os.open("/etc/passwd", os.O_RDONLY))
data, events = os.read(fd, 65536), []
while data:
    _wd, mask, _cookie, length = struct.unpack_from("<iIII", data)
    name = data[16:16 + length].rstrip(b"\\0").decode()
    data = data[16 + length:]
    if name == "passwd":   # the host's other processes open files in /etc too
        events.append((hex(mask), name))
print(events)
"""


def test_watched_files_are_never_opened_in_c(platform):
    assert_same(platform, ["python3", "-c", WATCHED_OPENS])
