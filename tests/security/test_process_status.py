"""What the host kernel says of a running sandbox's own processes.

/proc/<pid>/status of the sentry and the gofer (and, in OCI mode, the
spawner) while a workload runs, against docs/architecture.md ("Processes
of one sandbox", "Isolation properties"): the capabilities each keeps
(effective, permitted, bounding), no_new_privs, and a seccomp filter; and
the sentry's own mount namespace, with the host's tree read-only.
"""
from __future__ import annotations

import os
import pathlib
import sys
import subprocess
import time

import pytest

from runsc_py.gofer.server import GOFER_CAPABILITIES
from runsc_py.sentry.confinement import SENTRY_CAPABILITIES
from tests.conftest import PLATFORMS, RUNSC_PY
from tests.oci.conftest import bundle  # noqa: F401 - the OCI tests' fixture

SECCOMP_FILTER = 2

# Named here as docs/architecture.md names them, so a change to either list
# shows up as a failure here too.
SENTRY_CAPS = 1 << 2 | 1 << 5 | 1 << 12 | 1 << 19 | 1 << 21   # CAP_DAC_READ_SEARCH, CAP_KILL,
                                                              # CAP_NET_ADMIN, CAP_SYS_PTRACE,
                                                              # CAP_SYS_ADMIN
CAP_NET_RAW = 1 << 13   # kept besides, for a spec that grants it, in the container's namespace
GOFER_CAPS = 0b11111                             # CAP_CHOWN, CAP_DAC_OVERRIDE,
                                                 # CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID

# The workload's processes (tests/security/test_host_world.py checks them in full)


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _children(pid: int) -> list[int]:
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def _is_python(pid: int) -> bool:
    return os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("python")


def _caps(status: dict[str, str]) -> tuple[int, int, int]:
    return tuple(int(status[k], 16) for k in ("CapEff", "CapPrm", "CapBnd"))


def _wait_for_workload(sentry: int, marker: str) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kids = _children(sentry)
        if any(marker in open(f"/proc/{k}/cmdline").read().replace("\0", " ") for k in kids
               if not _is_python(k)):
            # the filter is loaded once the workload runs: give the sentry a moment
            time.sleep(0.3)
            return kids
        time.sleep(0.05)
    raise AssertionError("the workload never started")


def _check_sentry(pid: int, extra: int = 0) -> None:
    st = _status(pid)
    assert _caps(st) == (SENTRY_CAPS | extra,) * 3, st
    # its own mount namespace, every mount read-only, with a root of its own
    # holding only Python's code, its own /proc and /dev/pts, the host's CPUs
    assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    with open(f"/proc/{pid}/mountinfo") as f:
        mounts = [line.split() for line in f]
    assert not [m for m in mounts if "ro" not in m[5].split(",")], mounts
    root = next(m for m in mounts if m[4] == "/")
    assert root[root.index("-") + 1] == "tmpfs", root
    repo_top = pathlib.Path(__file__).resolve().parts[1]
    allowed = {"usr", "proc", "dev", "sys", repo_top, "bin", "sbin", "lib", "lib32", "lib64",
               "libx32"}
    assert set(os.listdir(f"/proc/{pid}/root")) <= allowed
    assert not os.path.exists(f"/proc/{pid}/root/etc")
    assert int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0
    assert st["NoNewPrivs"] == "1"
    assert int(st["Seccomp"]) == SECCOMP_FILTER


def _check_gofer(pid: int) -> None:
    st = _status(pid)
    assert _caps(st) == (GOFER_CAPS,) * 3, st
    assert st["NoNewPrivs"] == "1"
    assert int(st["Seccomp"]) == SECCOMP_FILTER


def _check_workload(pid: int) -> None:
    st = _status(pid)
    assert _caps(st) == (0, 0, 0), st
    assert st["NoNewPrivs"] == "1" and int(st["Seccomp"]) == SECCOMP_FILTER
    assert "0" not in st["Uid"].split() and "0" not in st["Gid"].split(), st
    assert os.getsid(pid) != os.getsid(0)


def test_the_lists_match_the_documented_sets():
    assert sum(1 << c for c in SENTRY_CAPABILITIES) == SENTRY_CAPS
    assert sum(1 << c for c in GOFER_CAPABILITIES) == GOFER_CAPS


@pytest.mark.parametrize("platform", PLATFORMS)
def test_do_sentry_and_gofer(platform):
    marker = f"sleep 96{PLATFORMS.index(platform)}"
    proc = subprocess.Popen(RUNSC_PY + ["--platform", platform, "do", "--", "sh", "-c",
                                        f"{marker}; true"])
    try:
        kids = _wait_for_workload(proc.pid, marker)
        _check_sentry(proc.pid)
        gofers = [k for k in kids if _is_python(k)]
        assert len(gofers) == 1, kids
        _check_gofer(gofers[0])
        for k in kids:
            if not _is_python(k):
                _check_workload(k)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("caps, extra", [(None, CAP_NET_RAW), (["CAP_KILL"], 0)],
                         ids=["root-caps", "no-net-raw"])
def test_oci_sentry_gofer_and_spawner(bundle, platform, caps, extra):  # noqa: F811
    """CAP_NET_RAW stays with the sentry only when the spec grants it (no
    capabilities listed: root's every one) to the container's namespace."""
    marker = f"sleep 95{PLATFORMS.index(platform)}"
    doc = bundle.config(["sh", "-c", f"{marker}; true"])
    if caps is not None:
        doc["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
        bundle.config(process=doc["process"])
    assert bundle.cli("--platform", platform, "create", "-b", str(bundle.path),
                      "c1").returncode == 0
    sentry = bundle.state("c1")["pid"]
    # created: init waits at its first exec, the sentry is already confined
    _check_sentry(sentry, extra)
    assert bundle.cli("start", "c1").returncode == 0
    kids = _wait_for_workload(sentry, marker)
    _check_sentry(sentry, extra)
    pythons = [k for k in kids if _is_python(k)]
    # the gofer is chrooted into a detached copy of the rootfs (no path of
    # the host's); the spawner's root is the host's, read-only
    gofers = [k for k in pythons if os.readlink(f"/proc/{k}/root") == "/"
              and int(_status(k)["Seccomp"]) == SECCOMP_FILTER]
    spawners = [k for k in pythons if k not in gofers]
    assert len(gofers) == 1 and len(spawners) == 1, (kids, gofers)
    _check_gofer(gofers[0])
    # The spawner is unfiltered, as documented: a filter would be its children's.
    assert int(_status(spawners[0])["Seccomp"]) == 0
    # What the CLI asks of a confined sentry still works.
    assert bundle.cli("exec", "c1", "sh", "-c", "echo in").stdout == "in\n"
    assert bundle.cli("ps", "c1").returncode == 0
    assert bundle.cli("pause", "c1").returncode == 0
    assert bundle.cli("resume", "c1").returncode == 0
    assert bundle.cli("events", "--stats", "c1").returncode == 0
    assert bundle.cli("update", "--resources", "-", "c1",
                      input=b'{"pids": {"limit": 50}}').returncode == 0
    _check_sentry(sentry, extra)   # alive and unchanged
    assert bundle.cli("kill", "c1", "KILL").returncode == 0
    assert bundle.wait_status("c1", "stopped")["status"] == "stopped"
    assert bundle.cli("delete", "c1").returncode == 0


JOIN_AND_LIST = """
import ctypes, os, sys
fd = os.open(f"/proc/{sys.argv[1]}/ns/mnt", os.O_RDONLY)
assert ctypes.CDLL(None).setns(fd, 0x20000) == 0
print(" ".join(sorted(n for n in os.listdir("/proc") if n.isdigit())))
"""


def test_joining_the_sentrys_mount_namespace_shows_only_the_sandbox(bundle):  # noqa: F811
    """What `podman top` does with the pid `state` reports (psgo): setns into
    its mount namespace and list /proc. There, the root is an outer one
    whose /proc is a procfs of the sandbox's pid namespace (the sentry is
    chrooted beneath it), not the host's processes."""
    bundle.config(["sh", "-c", "sleep 100 & sleep 100"])
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    sentry = bundle.state("c1")["pid"]
    _wait_for_workload(sentry, "sleep 100")
    listed = subprocess.run([sys.executable, "-c", JOIN_AND_LIST, str(sentry)],
                            capture_output=True, text=True, timeout=30)
    assert listed.stdout.split() == ["1", "2"], listed
    assert bundle.cli("kill", "c1", "KILL").returncode == 0
