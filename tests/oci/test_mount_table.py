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


def _propagation(line: str) -> str:
    """findmnt's PROPAGATION of a mountinfo line (its optional fields)."""
    fields = line.split()
    optional = fields[6:fields.index("-")]
    kinds = [k for k, tag in (("shared", "shared:"), ("slave", "master:"),
                              ("unbindable", "unbindable")) if any(o.startswith(tag) for o in optional)]
    return ",".join(kinds) or "private"


@pytest.mark.parametrize("root, expected", [("shared", "shared"), ("rshared", "shared"),
                                            ("rslave", "slave"), ("private", "private"),
                                            ("unbindable", "unbindable"), ("", "private")])
def test_rootfs_propagation_shows_on_the_root(bundle, root, expected):
    linux = bundle.config()["linux"]
    bundle.config(linux=dict(linux, rootfsPropagation=root))
    out = _run(bundle, "cat /proc/self/mountinfo", mounts=[])
    root_line = next(line for line in out.splitlines() if line.split()[4] == "/")
    assert _propagation(root_line) == expected, out


@pytest.mark.parametrize("root", ["", "rshared"])
def test_a_binds_propagation_option_shows_on_it(bundle, tmp_path, root):
    """Its own option wins; without one it is a peer under a shared root (a
    new mount beneath a shared parent is one), else private, as on Linux."""
    linux = bundle.config()["linux"]
    bundle.config(linux=dict(linux, rootfsPropagation=root))
    source = tmp_path / "src"
    source.mkdir()
    kinds = {"/b-shared": "rshared", "/b-slave": "rslave", "/b-unbindable": "unbindable",
             "/b-private": "rprivate", "/b-plain": None}
    mounts = [{"destination": d, "type": "bind", "source": str(source),
               "options": ["rbind"] + ([k] if k else [])} for d, k in kinds.items()]
    out = _run(bundle, "cat /proc/self/mountinfo", mounts=mounts)
    shown = {line.split()[4]: _propagation(line) for line in out.splitlines()}
    assert shown["/b-shared"] == "shared" and shown["/b-slave"] == "slave", out
    assert shown["/b-unbindable"] == "unbindable" and shown["/b-private"] == "private", out
    assert shown["/b-plain"] == ("shared" if root else "private"), out


def test_an_unknown_rootfs_propagation_fails_create(bundle):
    linux = bundle.config()["linux"]
    bundle.config(["true"], linux=dict(linux, rootfsPropagation="sideways"))
    proc = bundle.cli("create", "--bundle", str(bundle.path), "bad")
    assert proc.returncode != 0 and "rootfsPropagation" in proc.stdout, proc.stdout
