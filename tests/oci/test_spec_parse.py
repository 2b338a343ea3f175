"""config.json parsing: what is carried, what is refused (no sandbox started)."""
from __future__ import annotations

import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runsc_py.cli.kill import parse_signal
from runsc_py.oci import spec as specs
from runsc_py.oci.state import ContainerError


def _doc(**over) -> dict:
    doc = {"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": True},
           "process": {"args": ["true"], "env": ["A=1", "B=x=y"], "cwd": "/"}}
    doc.update(over)
    return doc


@pytest.fixture
def bundle_dir(tmp_path):
    (tmp_path / "rootfs").mkdir()
    return str(tmp_path)


def test_fields_are_carried(bundle_dir):
    spec = specs.parse(_doc(
        hostname="h", domainname="d", annotations={"k": "v"},
        mounts=[{"destination": "/data", "source": "rootfs", "options": ["rbind", "ro"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
        linux={"resources": {"memory": {"limit": 1 << 30, "swap": 3 << 29},
                             "cpu": {"quota": 150000, "period": 100000, "cpus": "0-1,3"},
                             "pids": {"limit": 10}},
               "sysctl": {"kernel.msgmax": "8192"}, "maskedPaths": ["/proc/kcore"],
               "namespaces": [{"type": "network", "path": "/var/run/netns/x"}, {"type": "pid"}]},
    ), bundle_dir)
    assert spec.process.env == {"A": "1", "B": "x=y"}
    assert [m.kind for m in spec.mounts] == ["bind", "tmpfs"]
    assert spec.limits.memory_bytes == 1 << 30 and spec.limits.swap_bytes == 1 << 29
    assert spec.limits.cpus == 1.5 and spec.limits.cpuset == (0, 1, 3) and spec.limits.pids == 10
    assert spec.sysctl == {"kernel.msgmax": "8192"} and spec.masked_paths == ["/proc/kcore"]
    assert spec.netns_path == "/var/run/netns/x" and not spec.netns_new


@pytest.mark.parametrize("namespaces, path, new", [
    ([{"type": "network", "path": "/run/netns/x"}], "/run/netns/x", False),
    ([{"type": "network"}, {"type": "pid"}], None, True),     # runc makes a new one
    ([{"type": "pid"}], None, False),                         # runc stays in the caller's
])
def test_the_network_namespace_entry(bundle_dir, namespaces, path, new):
    spec = specs.parse(_doc(linux={"namespaces": namespaces}), bundle_dir)
    assert (spec.netns_path, spec.netns_new) == (path, new)


@pytest.mark.parametrize("over, words", [
    ({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOTIFY"}}}, "SCMP_ACT_NOTIFY"),
    ({"linux": {"namespaces": [{"type": "ipc", "path": "/proc/1/ns/ipc"}]}}, "joining"),
    ({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}, "uidMappings"),
    ({"linux": {"devices": [{"path": "/tmp/node", "type": "c"}]}}, "in /dev only"),
    ({"linux": {"devices": [{"path": "/dev/x", "type": "z"}]}}, "not c, u, b or p"),
    ({"process": {"args": ["true"], "cwd": "relative"}}, "absolute"),
    ({"process": {"args": ["true"], "env": ["NOEQUALS"]}}, "KEY=VALUE"),
    ({"process": {"args": ["true"], "user": {"uid": -1}}}, "process.user.uid"),
    ({"mounts": [{"destination": "rel"}]}, "absolute"),
])
def test_refusals_name_the_field(bundle_dir, over, words):
    with pytest.raises(specs.SpecError, match=words):
        specs.parse(_doc(**over), bundle_dir)


def test_signal_names():
    assert parse_signal("9") == 9 and parse_signal("KILL") == 9 and parse_signal("sigterm") == 15
    assert parse_signal("RTMIN+2") == signal.SIGRTMIN + 2
    for bad in ("NOPE", "65", "", "SIG"):
        with pytest.raises(ContainerError):
            parse_signal(bad)


@given(st.text(max_size=12))
def test_any_signal_text_is_a_signal_or_a_clear_error(text):
    try:
        assert 0 <= parse_signal(text) < signal.NSIG
    except ContainerError as exc:
        assert repr(text) in str(exc) or "out of range" in str(exc)
