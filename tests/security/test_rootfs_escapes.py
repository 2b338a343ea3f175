"""A container cannot reach a host file outside its rootfs, by any route.

The bundle directory holds a secret beside the rootfs; the rootfs holds
links the host planted that point out of it. Every route a workload might
try, as root in the container, must read nothing but what is inside:
'..' chains, absolute and relative links, /proc/self/root, /proc/1/root,
/proc/self/cwd, /proc/self/fd/N for every N, guessed directory fds,
O_PATH reopened through /proc/self/fd, linkat, the mount calls, and a
thread flipping a symlink between a directory and "/" while another opens
through it (on a writable rootfs served by the gofer directly, where the
link lives on the host).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.oci.conftest import RUNSC_PY, Bundle, make_rootfs

SECRET = "TOPSECRET-outside-the-rootfs"
PROGRAMS = os.path.join(os.path.dirname(__file__), "..", "programs")

ATTACK = r"""
cd /
for p in ../../../bundle-secret /../../bundle-secret /.././../secret ../secret \
         /abs-out /rel-out /deep/up/bundle-secret /proc/self/root/../bundle-secret \
         /proc/1/root/../../bundle-secret /proc/self/cwd/../../bundle-secret \
         /proc/1/cwd/../bundle-secret /dev/fd/../../bundle-secret; do
    cat "$p" 2>/dev/null
done
i=0
while [ $i -lt 1024 ]; do
    cat /proc/self/fd/$i/../bundle-secret /proc/1/fd/$i 2>/dev/null | grep -a TOPSECRET
    ls /proc/self/fd/$i/.. 2>/dev/null | grep -a bundle-secret
    i=$((i+1))
done
ln /abs-out /hard 2>/dev/null; cat /hard 2>/dev/null
ln -s /proc/1/root/../bundle-secret /sym && cat /sym 2>/dev/null
echo routes-tried
"""


def _bundle(tmp_path, busybox, readonly: bool = True) -> Bundle:
    path = tmp_path / "bundle"
    path.mkdir()
    rootfs = make_rootfs(path / "rootfs", busybox)
    (path / "bundle-secret").write_text(SECRET + "\n")
    (tmp_path / "secret").write_text(SECRET + "\n")
    os.symlink(str(path / "bundle-secret"), rootfs / "abs-out")   # a host path: means nothing inside
    os.symlink("../bundle-secret", rootfs / "rel-out")              # '..' stops at the root
    (rootfs / "deep").mkdir()
    os.symlink("../../..", rootfs / "deep" / "up")
    subprocess.run(RUNSC_PY + ["spec", "--bundle", str(path)], check=True)
    doc = json.loads((path / "config.json").read_text())
    doc["root"]["readonly"] = readonly
    (path / "config.json").write_text(json.dumps(doc))
    return Bundle(path, tmp_path / "state")


def _run(bundle: Bundle, args: list[str], *flags: str) -> subprocess.CompletedProcess:
    bundle.config(args)
    return bundle.cli(*flags, "run", "--bundle", str(bundle.path), "attack", timeout=120)


def test_no_route_reaches_outside_the_rootfs(tmp_path, busybox):
    bundle = _bundle(tmp_path, busybox)
    proc = _run(bundle, ["sh", "-c", ATTACK])
    assert "routes-tried" in proc.stdout, proc.stdout
    assert SECRET not in proc.stdout, proc.stdout


def test_guessed_dirfds_and_o_path_reopens(tmp_path, busybox, program):
    bundle = _bundle(tmp_path, busybox)
    exe = _static(tmp_path, "dirfd_probe")
    shutil.copy(exe, bundle.path / "rootfs" / "probe")
    proc = _run(bundle, ["/probe"])
    assert "probed" in proc.stdout, proc.stdout
    assert SECRET not in proc.stdout, proc.stdout


@pytest.mark.parametrize("call", ["pivot_root", "open_tree", "move_mount"])
def test_mount_calls_are_refused(tmp_path, busybox, call):
    bundle = _bundle(tmp_path, busybox)
    exe = _static(tmp_path, "mount_calls")
    shutil.copy(exe, bundle.path / "rootfs" / "mounts")
    proc = _run(bundle, ["/mounts", call])
    assert proc.stdout.strip().endswith(f"{call}: errno=1"), proc.stdout


MOUNT_ATTACK = r"""
for src in /.. /../.. /proc/self/root/.. /proc/1/root/../.. /proc/self/cwd/.. /abs-out /deep/up; do
    mkdir -p /tmp/m && mount --bind "$src" /tmp/m 2>/dev/null && cat /tmp/m/bundle-secret 2>/dev/null
    umount /tmp/m 2>/dev/null
done
mount --rbind / /tmp/m && cat /tmp/m/../bundle-secret /tmp/m/tmp/m/../bundle-secret 2>/dev/null
mount -t proc proc /tmp/m && cat /tmp/m/1/root/../bundle-secret 2>/dev/null
mount -t ext4 /dev/sda /tmp/m 2>/dev/null || echo no-host-filesystem
echo mounts-tried
"""


def test_mounts_made_inside_reach_nothing_outside(tmp_path, busybox):
    """A container's root (with every capability, as a spec without
    `capabilities` gives it) mounts in the sentry's VFS: a bind of any route
    out, a recursive bind of the root, a procfs of its own, all still end
    at the rootfs; no host filesystem can be mounted."""
    bundle = _bundle(tmp_path, busybox)
    before = open("/proc/self/mountinfo").read()
    proc = _run(bundle, ["sh", "-c", MOUNT_ATTACK])
    assert "no-host-filesystem" in proc.stdout and "mounts-tried" in proc.stdout, proc.stdout
    assert SECRET not in proc.stdout, proc.stdout
    assert open("/proc/self/mountinfo").read() == before


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(iters=st.integers(500, 4000), platform=st.sampled_from(["seccomp", "ptrace"]))
def test_symlink_flip_race_never_escapes(tmp_path_factory, busybox, iters, platform):
    tmp_path = tmp_path_factory.mktemp("race")
    bundle = _bundle(tmp_path, busybox, readonly=False)
    shutil.copy(_static(tmp_path, "flip_race"), bundle.path / "rootfs" / "race")
    os.chmod(bundle.path / "rootfs" / "tmp", 0o1777)
    bundle.config(["sh", "-c", f"cd /tmp && /race {iters}"])
    proc = bundle.cli(f"--platform={platform}", "--overlay=none", "run", "--bundle", str(bundle.path),
                      "race", timeout=120)
    assert "race done" in proc.stdout, proc.stdout
    assert SECRET not in proc.stdout, proc.stdout
    assert (tmp_path / "secret").read_text() == SECRET + "\n"


def _static(tmp_path, name: str) -> str:
    exe = tmp_path / name
    if not exe.exists():
        subprocess.run(["gcc", "-static", "-O1", "-pthread", "-o", str(exe),
                        os.path.join(PROGRAMS, "static", f"{name}.c")], check=True)
    return str(exe)
