"""The overlay root takes every change in memory: the host's files never change.

A workload running as root rewrites, chmods, chowns, truncates, renames,
links over and deletes everything it can reach in a host tree (and in /etc),
and the tree is hashed before and after: names, types, modes, owners,
sizes, times, link targets and bytes must be exactly as they were.
"""
from __future__ import annotations

import hashlib
import os
import stat as statmod

import pytest

from tests.conftest import sandboxed

ATTACK = r"""
T="$1"
cd "$T" || exit 90
find "$T" /etc -exec chmod 777 {} + 2>/dev/null
find "$T" /etc -exec chown 1234:1234 {} + 2>/dev/null
find "$T" /etc -exec touch -d '2001-01-01' {} + 2>/dev/null
find "$T" /etc -type f | while read f; do echo pwned > "$f"; done
find "$T" -type f | while read f; do : > "$f"; ln -f /etc/passwd "$f" 2>/dev/null; done
for d in "$T"/*; do mv "$d" "$d.moved"; done
ln -sf /etc/shadow "$T/newlink"; mkdir "$T/newdir"; mkfifo "$T/newfifo"
mv /etc /etc.gone
rm -rf "$T"/* /etc.gone
[ -z "$(ls -A "$T" | grep -v new)" ] || exit 91
[ ! -e /etc ] || exit 92
echo attacked
"""


def tree_digest(roots: list[str]) -> dict[str, tuple]:
    """Everything observable about the trees below `roots`, by path."""
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [""] + dirnames + filenames:
                path = os.path.join(dirpath, name) if name else dirpath
                st = os.lstat(path)
                entry = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_nlink)
                if statmod.S_ISLNK(st.st_mode):
                    entry += (os.readlink(path),)
                elif statmod.S_ISREG(st.st_mode):
                    with open(path, "rb") as f:
                        entry += (hashlib.sha256(f.read()).hexdigest(),)
                out[path] = entry
    return out


@pytest.fixture
def victim_tree(tmp_path):
    root = tmp_path / "victim"
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "file").write_text("precious\n")
    (root / "dir" / "data").write_bytes(os.urandom(20000))
    (root / "dir" / "sub" / "deep").write_text("deep\n")
    (root / "setuid").write_text("#!/bin/sh\n")
    os.chmod(root / "setuid", 0o4755)
    os.symlink("/etc/passwd", root / "abs-link")
    os.symlink("dir/data", root / "rel-link")
    os.link(root / "file", root / "hardlink")
    os.mkfifo(root / "fifo")
    return str(root)


def test_root_workload_changes_nothing_on_the_host(platform, busybox, victim_tree):
    before = tree_digest([victim_tree, "/etc"])
    r = sandboxed(platform, busybox, "sh", "-c", ATTACK, "attack", victim_tree, timeout=300)
    assert r.code == 0 and r.out == b"attacked\n", r
    assert tree_digest([victim_tree, "/etc"]) == before


@pytest.mark.slow
def test_rm_rf_everything_changes_nothing_on_the_host(platform, busybox):
    roots = ["/etc", "/usr/bin", "/usr/lib/python3", "/var"]
    roots = [r for r in roots if os.path.isdir(r)]
    before = tree_digest(roots)
    # busybox itself goes with the rest: what is left is counted by the shell
    # already running (a glob and echo are its own), not by new commands
    r = sandboxed(platform, busybox, "sh", "-c",
                  'busybox rm -rf / 2>/dev/null; set -- /* /.[!.]*; echo "$# left"',
                  timeout=1200)
    assert r.code == 0 and r.out.endswith(b" left\n"), r
    assert tree_digest(roots) == before
