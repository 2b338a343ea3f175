"""The mount table a container's spec gives, as runtime-tools checks it:
every `mounts` entry in /proc/self/mountinfo with its type and source, in
the spec's order; a devpts at /dev/pts with its ptmx and /dev/ptmx the
link runc makes; an mqueue at /dev/mqueue."""
from __future__ import annotations

import pytest

# dockerd's mounts for a container, in its order (binds aside)
DOCKER_MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["ro", "nosuid", "noexec", "nodev"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
]


def _run(bundle, script: str, mounts=DOCKER_MOUNTS) -> str:
    bundle.config(["sh", "-c", script], mounts=mounts)
    proc = bundle.cli("run", "--bundle", str(bundle.path), "mounts")
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def test_mountinfo_lists_the_specs_mounts_in_order(bundle):
    out = _run(bundle, "cat /proc/self/mountinfo")
    rows = []
    for line in out.splitlines():
        fields = line.split()
        sep = fields.index("-")
        rows.append((fields[4], fields[sep + 1], fields[sep + 2], fields[5].split(",")))
    where = {}
    for spec in DOCKER_MOUNTS:
        found = [i for i, (point, fstype, source, _) in enumerate(rows)
                 if (point, fstype, source) == (spec["destination"], spec["type"], spec["source"])]
        assert found, f"{spec['destination']} ({spec['type']}, {spec['source']}) missing:\n{out}"
        where[spec["destination"]] = found[-1]
        options = rows[found[-1]][3]
        assert ("ro" if "ro" in spec["options"] else "rw") in options, (spec, options)
        assert all(o in options for o in ("nosuid", "nodev", "noexec") if o in spec["options"])
    order = [where[spec["destination"]] for spec in DOCKER_MOUNTS]
    assert order == sorted(order), f"not in the spec's order:\n{out}"


@pytest.mark.parametrize("mode", ["0666", "0000"])
def test_dev_ptmx_is_the_link_to_the_devpts_ptmx(bundle, mode):
    mounts = [dict(m) for m in DOCKER_MOUNTS]
    mounts[2] = dict(mounts[2], options=[f"ptmxmode={mode}" if o.startswith("ptmxmode=") else o
                                         for o in mounts[2]["options"]])
    out = _run(bundle, "ls -l /dev/ptmx /dev/pts/ptmx", mounts)
    link, ptmx = out.splitlines()
    assert link.startswith("l") and link.endswith("/dev/ptmx -> pts/ptmx"), out
    perms = {"0666": "crw-rw-rw-", "0000": "c---------"}[mode]
    assert ptmx.startswith(perms) and "5,   2" in ptmx, out


def test_without_a_devpts_mount_dev_ptmx_is_the_device(bundle):
    mounts = [m for m in DOCKER_MOUNTS if m["type"] != "devpts"]
    out = _run(bundle, "ls -l /dev/ptmx; ls /dev/pts | wc -l", mounts)
    assert out.startswith("crw-rw-rw-") and out.split()[-1] == "0", out
