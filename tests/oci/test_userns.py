"""A spec's user namespace (linux.uidMappings/gidMappings): the sandbox's
ids are the container's, and a host file's owner shows through the
mapping, as the kernel shows it to a process in a user namespace: a
mapped host id as its container id, any other as 65534. New files get
the mapped host owner; a chown to an id the mapping lacks is EINVAL."""
from __future__ import annotations

import json
import os

HOST_BASE = 100000
MAPPING = [{"containerID": 0, "hostID": HOST_BASE, "size": 65536}]


def _userns_bundle(bundle, script: str) -> None:
    rootfs = bundle.path / "rootfs"
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for name in dirnames + filenames + ["."]:
            os.lchown(os.path.join(dirpath, name), HOST_BASE, HOST_BASE)
    (rootfs / "hostfile").write_text("")
    os.chown(rootfs / "hostfile", 0, 0)   # a host id the mapping does not cover
    doc = bundle.config(["sh", "-c", script])
    doc["root"]["readonly"] = False
    doc["linux"]["namespaces"].append({"type": "user"})
    doc["linux"]["uidMappings"] = MAPPING
    doc["linux"]["gidMappings"] = MAPPING
    (bundle.path / "config.json").write_text(json.dumps(doc))


def test_owners_show_through_the_mapping(bundle):
    _userns_bundle(bundle, "id -u; stat -c '%u:%g' /bin /hostfile; touch /new; "
                           "stat -c '%u:%g' /new; cat /proc/self/uid_map /proc/self/gid_map; "
                           "chown 70000 /new 2>&1; chown 1000:1000 /new && echo chowned")
    proc = bundle.cli("run", "-b", str(bundle.path), "u1")
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    assert lines[:4] == ["0", "0:0", "65534:65534", "0:0"], proc.stdout
    assert [line.split() for line in lines[4:6]] == [["0", str(HOST_BASE), "65536"]] * 2
    assert "Invalid argument" in lines[6] and lines[7] == "chowned", proc.stdout
    new = os.stat(bundle.path / "rootfs" / "new")
    assert (new.st_uid, new.st_gid) == (HOST_BASE + 1000, HOST_BASE + 1000)


def test_mappings_without_a_user_namespace_fail_create(bundle):
    doc = bundle.config(["true"])
    doc["linux"]["uidMappings"] = MAPPING
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("create", "-b", str(bundle.path), "u2")
    assert proc.returncode != 0 and "user entry" in proc.stdout, proc.stdout


def test_joining_a_user_namespace_fails_create(bundle):
    doc = bundle.config(["true"])
    doc["linux"]["namespaces"].append({"type": "user", "path": "/proc/1/ns/user"})
    doc["linux"]["uidMappings"] = doc["linux"]["gidMappings"] = MAPPING
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("create", "-b", str(bundle.path), "u3")
    assert proc.returncode != 0 and "user namespace" in proc.stdout, proc.stdout
