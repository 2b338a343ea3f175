"""linux.namespaces' network path: the sandbox joins the engine's namespace."""
from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("ip") is None or shutil.which("ss") is None,
                                reason="needs iproute2's ip and ss")


@pytest.fixture
def netns():
    """A named network namespace (/run/netns/NAME) with lo up, removed afterwards."""
    name = f"runsc-py-test-{os.getpid()}-{random.randrange(1 << 20)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _listening(port: int, netns: str | None = None) -> bool:
    cmd = ["ss", "-Hltn", f"sport = :{port}"]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    return bool(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip())


def _free_port() -> int:
    """A TCP port nothing on the host listens on now."""
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


PORT = _free_port()


def _namespaces_with_net(bundle, path: str) -> None:
    doc = bundle.config(["busybox", "nc", "-l", "-p", str(PORT)])
    doc["linux"]["namespaces"] = [ns for ns in doc["linux"]["namespaces"] if ns["type"] != "network"]
    doc["linux"]["namespaces"].append({"type": "network", "path": path})
    bundle.config(linux=doc["linux"])


def test_host_network_listens_in_the_joined_namespace(bundle, netns):
    _namespaces_with_net(bundle, f"/run/netns/{netns}")
    created = bundle.cli("--network=host", "create", "--bundle", str(bundle.path), "nsjoin")
    assert created.returncode == 0, created.stdout
    assert bundle.cli("start", "nsjoin").returncode == 0
    deadline = time.monotonic() + 10
    while not _listening(PORT, netns) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _listening(PORT, netns), "the listener is not in the joined namespace"
    assert not _listening(PORT), "the listener is in the host's namespace"
    assert bundle.cli("delete", "--force", "nsjoin").returncode == 0


def test_a_namespace_path_that_does_not_exist_is_a_clear_error(bundle):
    _namespaces_with_net(bundle, "/run/netns/runsc-py-no-such-namespace")
    proc = bundle.cli("--network=host", "run", "--bundle", str(bundle.path), "nons")
    assert proc.returncode != 0
    assert "cannot open the network namespace /run/netns/runsc-py-no-such-namespace" in proc.stdout
    assert not (bundle.root / "nons").exists()


def test_a_path_that_is_not_a_network_namespace_is_refused(bundle):
    _namespaces_with_net(bundle, "/proc/self/ns/uts")
    proc = bundle.cli("--network=host", "run", "--bundle", str(bundle.path), "notnet")
    assert proc.returncode != 0
    assert "not a network namespace" in proc.stdout


def test_a_pods_other_namespaces_are_refused_by_name(bundle):
    """A pod's container names the pause container's namespaces by path: the
    network one is joined, the others are refused, never silently ignored."""
    doc = bundle.config(["true"])
    doc["linux"]["namespaces"] = [{"type": "network", "path": "/proc/1/ns/net"},
                                  {"type": "ipc", "path": "/proc/1/ns/ipc"},
                                  {"type": "pid"}, {"type": "mount"}]
    bundle.config(linux=doc["linux"])
    proc = bundle.cli("run", "--bundle", str(bundle.path), "pod")
    assert proc.returncode != 0
    assert "joining an existing ipc namespace (/proc/1/ns/ipc) is not supported" in proc.stdout
    assert not (bundle.root / "pod").exists()


def test_a_pod_container_joins_another_sandboxs_network_namespace(bundle, netns):
    """The pause container joins the pod's namespace; a second container names
    the pause container's (its sandbox process's) /proc/PID/ns/net and shares it."""
    doc = bundle.config(["sleep", "100"])
    doc["linux"]["namespaces"] = [ns for ns in doc["linux"]["namespaces"] if ns["type"] != "network"]
    doc["linux"]["namespaces"].append({"type": "network", "path": f"/run/netns/{netns}"})
    bundle.config(linux=doc["linux"])
    assert bundle.cli("--network=host", "create", "--bundle", str(bundle.path), "pause").returncode == 0
    pause_pid = bundle.state("pause")["pid"]
    _namespaces_with_net(bundle, f"/proc/{pause_pid}/ns/net")
    assert bundle.cli("--network=host", "run", "--detach", "--bundle", str(bundle.path),
                      "app").returncode == 0
    deadline = time.monotonic() + 10
    while not _listening(PORT, netns) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _listening(PORT, netns), "the second container is not in the pod's namespace"
    assert not _listening(PORT)
    for cid in ("app", "pause"):
        assert bundle.cli("delete", "--force", cid).returncode == 0
