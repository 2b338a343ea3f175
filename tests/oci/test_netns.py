"""linux.namespaces' network entry: a path is joined, none makes a new namespace."""
from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import PROGRAMS
from tests.oci.conftest import RUNSC_PY

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


# -- a `network` namespace without a path: a new one, as runc makes -------------
#
# dockerd's libnetwork prestart hook configures /proc/PID/ns/net of the pid the
# runtime reports (moves a veth in, renames it, sets
# net.ipv6.conf.{all,default}.disable_ipv6). If that pid were in the host's
# namespace the hook would reconfigure the host, so these hooks do the same
# kinds of change and the tests check that they land in the container's new
# namespace and nowhere else. Every host setting is restored, and any link that
# landed on the host removed, whatever the outcome.

DISABLE_IPV6 = ("/proc/sys/net/ipv6/conf/all/disable_ipv6",
                "/proc/sys/net/ipv6/conf/default/disable_ipv6")
NSENTER, IP = (shutil.which(tool) for tool in ("nsenter", "ip"))

# Run on the host by runsc-py with the state JSON on stdin and an empty
# environment: configures the namespace of the state's pid as libnetwork does
# and records what it saw, read inside that namespace, in a JSON file.
HOOK = '''#!{python}
import json, os, subprocess, sys
state = json.load(sys.stdin)
kind, link, out = sys.argv[1:4]
pid = state["pid"]
enter = ["{nsenter}", "--net=/proc/%d/ns/net" % pid]
def run(*cmd):
    return subprocess.run(enter + list(cmd), check=True, capture_output=True, text=True).stdout
run("{ip}", "link", "add", link, "type", "bridge")   # this kernel has no dummy driver
for conf in ("all", "default"):   # /proc/sys/net is the namespace's of the writer
    run("sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6" % conf)
seen = dict(kind=kind, pid=pid, status=state["status"],
            ns=os.readlink("/proc/%d/ns/net" % pid), hook_ns=os.readlink("/proc/self/ns/net"),
            links=run("{ip}", "-o", "link"),
            disable_ipv6=run("cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").strip())
with open(out, "w") as f:
    json.dump(seen, f)
'''


def _host_links() -> dict[str, str]:
    """The host's interfaces: index -> name."""
    out = subprocess.run([IP, "-o", "link"], capture_output=True, text=True, check=True).stdout
    links = {}
    for line in out.splitlines():
        index, name = line.split(":")[:2]
        links[index.strip()] = name.strip().partition("@")[0]
    return links


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


@pytest.fixture
def host_network():
    """The host's interfaces and disable_ipv6 as they were; restored afterwards.

    Yields the names the test's hooks will give their links, deleted from
    the host at the end if they landed there."""
    if NSENTER is None:
        pytest.skip("needs nsenter (util-linux; ./setup.sh installs it)")
    links = _host_links()
    saved = {path: _read(path) for path in DISABLE_IPV6 if os.path.exists(path)}
    tag = f"{os.getpid() % 10000:04d}{random.randrange(1 << 12):03x}"
    names = {"prestart": f"rp-p{tag}", "createRuntime": f"rp-c{tag}"}
    try:
        yield {"links": links, "disable_ipv6": saved, "names": names}
    finally:
        leaked = [name for name in names.values() if name in _host_links().values()]
        for name in leaked:
            subprocess.run([IP, "link", "del", name], check=False)
        changed = {path: value for path, value in saved.items() if _read(path) != value}
        for path, value in saved.items():
            with open(path, "w") as f:
                f.write(value)
        assert not leaked, f"a hook's link landed in the host's namespace: {leaked} (removed)"
        assert not changed, f"the host's {sorted(changed)} were changed (restored)"


def _assert_host_untouched(host_network) -> None:
    now = _host_links()
    for index, name in host_network["links"].items():
        assert now.get(index) == name, f"host link {index}: {name} is now {now.get(index)}"
    for name in host_network["names"].values():
        assert name not in now.values(), f"{name} was made in the host's namespace"
    for path, value in host_network["disable_ipv6"].items():
        assert _read(path) == value, f"the host's {path} was changed"


def _hooked_bundle(bundle, host_network, args, namespaces=None) -> dict[str, pathlib.Path]:
    """config.json with a network namespace without a path (the default spec's,
    dockerd's) and a prestart and a createRuntime hook as above; returns where
    each hook writes what it saw."""
    hook = bundle.path.parent / "netns-hook"
    hook.write_text(HOOK.format(python=sys.executable, nsenter=NSENTER, ip=IP))
    hook.chmod(0o755)
    seen = {kind: bundle.path.parent / f"{kind}.json" for kind in host_network["names"]}
    hooks = {kind: [{"path": str(hook), "args": ["netns-hook", kind, name, str(seen[kind])]}]
             for kind, name in host_network["names"].items()}
    doc = bundle.config(args, hooks=hooks)
    if namespaces is None:
        namespaces = [ns for ns in doc["linux"]["namespaces"] if ns["type"] != "network"]
        namespaces.append({"type": "network"})
    doc["linux"]["namespaces"] = namespaces
    bundle.config(linux=doc["linux"])
    return seen


def _check_hooks_saw_a_new_namespace(seen: dict[str, pathlib.Path], host_network) -> None:
    own = os.readlink("/proc/self/ns/net")
    namespaces = set()
    for kind, path in seen.items():
        assert path.exists(), f"the {kind} hook did not run"
        record = json.loads(path.read_text())
        assert record["hook_ns"] == own
        assert record["ns"] != own, \
            f"the {kind} hook's pid {record['pid']} is in the host's namespace"
        for name in host_network["names"].values():
            if kind == "createRuntime" or name == host_network["names"][kind]:
                assert f" {name}:" in record["links"], record["links"]   # prestart's stays
        assert record["disable_ipv6"] == "1"
        namespaces.add(record["ns"])
    assert len(namespaces) == 1, "the hooks saw different namespaces"


def _cli_to(bundle, out: pathlib.Path, *argv: str, timeout: float = 30):
    """bundle.cli with the container's stdio going to OUT (kept by a created container)."""
    with open(out, "wb") as f:
        return subprocess.run(RUNSC_PY + ["--root", str(bundle.root), *argv], stdout=f,
                              stderr=subprocess.STDOUT, timeout=timeout)


PLATFORMS = ("seccomp", "ptrace")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_run_makes_a_new_namespace_that_the_hooks_configure(bundle, host_network, platform):
    """`run` with --network=host: the workload's host sockets and rtnetlink
    reads are the new namespace's, so it sees the links the hooks made there."""
    seen = _hooked_bundle(bundle, host_network, ["busybox", "ip", "-o", "link"])
    proc = bundle.cli("--platform", platform, "--network=host", "run", "--bundle",
                      str(bundle.path), "newns")
    _assert_host_untouched(host_network)
    assert proc.returncode == 0, proc.stdout
    _check_hooks_saw_a_new_namespace(seen, host_network)
    for name in host_network["names"].values():
        assert f" {name}:" in proc.stdout, proc.stdout   # the container sees them
    host_only = set(_host_links().values()) - {"lo"}
    assert not any(f" {name}:" in proc.stdout for name in host_only), proc.stdout


@pytest.mark.parametrize("platform", PLATFORMS)
def test_create_start_state_pid_is_in_the_new_namespace(bundle, host_network, platform):
    seen = _hooked_bundle(bundle, host_network, ["busybox", "nc", "-l", "-p", str(PORT)])
    out = bundle.path.parent / "container.out"
    created = _cli_to(bundle, out, "--platform", platform, "--network=host", "create",
                      "--bundle", str(bundle.path), "--pid-file", str(bundle.path.parent / "pid"),
                      "newns")
    _assert_host_untouched(host_network)
    assert created.returncode == 0, out.read_text()
    _check_hooks_saw_a_new_namespace(seen, host_network)
    pid = bundle.state("newns")["pid"]
    assert int(_read(str(bundle.path.parent / "pid"))) == pid
    ns = f"/proc/{pid}/ns/net"
    assert os.readlink(ns) != os.readlink("/proc/self/ns/net")
    assert os.readlink(ns) == json.loads(seen["prestart"].read_text())["ns"]
    inside = subprocess.run([NSENTER, f"--net={ns}", IP, "-o", "link"], capture_output=True,
                            text=True, check=True).stdout
    assert all(f" {name}:" in inside for name in host_network["names"].values()), inside
    assert "lo:" in inside and "UP" in inside.split("lo:")[1].splitlines()[0], \
        "lo is not up in the new namespace (runc brings it up)"
    assert bundle.cli("start", "newns").returncode == 0
    # the workload's listener (--network=host) is in the new namespace, not the host's
    deadline = time.monotonic() + 10
    listening = ["ss", "-Hltn", f"sport = :{PORT}"]
    while time.monotonic() < deadline and not subprocess.run(
            [NSENTER, f"--net={ns}"] + listening, capture_output=True, text=True).stdout.strip():
        time.sleep(0.05)
    assert subprocess.run([NSENTER, f"--net={ns}"] + listening, capture_output=True,
                          text=True).stdout.strip(), "the listener is not in the new namespace"
    assert not _listening(PORT), "the listener is in the host's namespace"
    assert bundle.cli("delete", "--force", "newns").returncode == 0
    _assert_host_untouched(host_network)


def test_by_default_the_workload_sees_the_namespace_the_hooks_configure(bundle, host_network):
    """No --network: a spec with a network namespace is a container an engine
    networks, so that namespace is the workload's network, as under runc: its
    /proc/net/dev lists the links the hooks made there, and not the host's."""
    seen = _hooked_bundle(bundle, host_network, ["cat", "/proc/net/dev"])
    proc = bundle.cli("run", "--bundle", str(bundle.path), "newns")
    _assert_host_untouched(host_network)
    assert proc.returncode == 0, proc.stdout
    _check_hooks_saw_a_new_namespace(seen, host_network)
    for name in host_network["names"].values():
        assert f"{name}:" in proc.stdout, proc.stdout
    host_only = set(_host_links().values()) - {"lo"}
    assert not any(f" {name}:" in proc.stdout for name in host_only), proc.stdout


def test_an_explicit_sandbox_network_also_gets_a_new_namespace(bundle, host_network):
    """--network=sandbox: the sentry's own namespace, the one the hooks
    configure and egress and --publish use, is the new one; the workload
    sees the sandbox's interfaces."""
    seen = _hooked_bundle(bundle, host_network, ["cat", "/proc/net/dev"])
    proc = bundle.cli("--network=sandbox", "run", "--bundle", str(bundle.path), "newns")
    _assert_host_untouched(host_network)
    assert proc.returncode == 0, proc.stdout
    _check_hooks_saw_a_new_namespace(seen, host_network)
    assert "eth0:" in proc.stdout and "lo:" in proc.stdout, proc.stdout
    assert not any(f"{name}:" in proc.stdout for name in host_network["names"].values())


def test_without_a_network_entry_the_sandbox_stays_in_the_callers_namespace(bundle, host_network):
    """No `network` entry (docker --network=host): as runc, the caller's
    namespace, which is then the container's network (the workload's own
    namespace stays an empty one of its own)."""
    doc = bundle.config(["sleep", "100"])
    doc["linux"]["namespaces"] = [ns for ns in doc["linux"]["namespaces"]
                                  if ns["type"] != "network"]
    bundle.config(linux=doc["linux"])
    assert bundle.cli("create", "--bundle", str(bundle.path), "hostns").returncode == 0
    pid = bundle.state("hostns")["pid"]
    assert os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net")
    assert bundle.cli("delete", "--force", "hostns").returncode == 0
    _assert_host_untouched(host_network)


BIND_80 = ["busybox", "sh", "-c", "busybox httpd -p 80 -h / && echo bound || echo refused"]


@pytest.mark.parametrize("uid, caps, sysctl, outcome", [
    (0, None, {}, "bound"),
    (1000, [], {}, "refused"),
    (1000, [], {"net.ipv4.ip_unprivileged_port_start": "0"}, "bound"),   # docker's spec
    (1000, ["CAP_NET_BIND_SERVICE"], {}, "bound"),
])
def test_low_ports_in_the_containers_namespace_follow_the_sandboxs_rule(bundle, uid, caps,
                                                                        sysctl, outcome):
    """The container's namespace is the workload's network: the sentry binds
    for it (its host user has no capability) with Linux's rule, by the
    sandbox's CAP_NET_BIND_SERVICE and ip_unprivileged_port_start."""
    doc = bundle.config(BIND_80)
    doc["process"]["user"] = {"uid": uid, "gid": uid}
    if caps is not None:
        doc["process"]["capabilities"] = {kind: caps for kind in  # (ambient: kept at exec)
                                          ("bounding", "effective", "permitted", "inheritable",
                                           "ambient")}
    doc["linux"]["sysctl"] = sysctl
    bundle.config(process=doc["process"], linux=doc["linux"])
    proc = bundle.cli("run", "--bundle", str(bundle.path), "lowport")
    assert proc.returncode == 0 and proc.stdout.strip().endswith(outcome), proc.stdout


@pytest.mark.parametrize("kind, caps, sysctl, outcome", [
    ("raw", ["CAP_NET_RAW"], {}, "reply"),          # docker's default capabilities
    ("raw", [], {}, "socket: EPERM"),
    ("dgram", [], {"net.ipv4.ping_group_range": "0 2147483647"}, "reply"),
    ("dgram", [], {}, "socket: EACCES"),            # Linux's default range, "1 0"
])
def test_icmp_echo_in_the_containers_namespace(bundle, tmp_path, kind, caps, sysctl, outcome):
    """ping as Linux has it: a raw socket for a caller with CAP_NET_RAW (the
    sentry keeps the capability only for such a spec, in the container's own
    namespace), a ping socket for a gid in net.ipv4.ping_group_range."""
    exe = bundle.path / "rootfs" / "bin" / "icmp_echo"
    subprocess.run(["gcc", "-static", "-O1", "-o", str(exe),
                    str(PROGRAMS / "static" / "icmp_echo.c")], check=True)
    doc = bundle.config(["icmp_echo", kind])
    doc["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    doc["linux"]["sysctl"] = sysctl
    bundle.config(process=doc["process"], linux=doc["linux"])
    proc = bundle.cli("run", "--bundle", str(bundle.path), "icmp")
    assert proc.stdout.strip().startswith(outcome), proc.stdout
