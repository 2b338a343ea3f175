"""dockerd 20.10 with `--add-runtime runsc-py=...` (docker's default seccomp profile on)."""
from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import subprocess
import time
import urllib.request

import pytest

from tests.engines import daemons, images

RUN = ("run", "--rm", "--runtime", "runsc-py", "--network", "none")


def test_docker_run_echo(dockerd):
    proc = dockerd.docker(*RUN, dockerd.image, "echo", "hello", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello\n"


def test_exit_status_passes_through(dockerd):
    assert dockerd.docker(*RUN, dockerd.image, "sh", "-c", "exit 3",
                          check=False).returncode == 3


def test_a_custom_seccomp_profile_is_enforced(dockerd, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    proc = dockerd.docker(*RUN, "--security-opt", f"seccomp={profile}", dockerd.image,
                          "sh", "-c", "mkdir /tmp/x; echo rc=$?", check=False)
    assert "Permission denied" in proc.stderr + proc.stdout and "rc=1" in proc.stdout


def test_a_failed_create_says_why(dockerd):
    proc = dockerd.docker(*RUN, dockerd.image, "/bin/no-such-program", check=False)
    assert "OCI runtime create failed" in proc.stderr
    assert 'exec: "/bin/no-such-program": executable file not found' in proc.stderr, proc.stderr
    assert proc.returncode == 127, proc   # docker reads runc's words, as it does runc's


def test_exec_of_a_missing_program_says_why(dockerd):
    """docker exec of a program the container does not have: runc's message
    and what docker makes of it under runc (126); the container goes on (the
    sandbox answers, where it used to drop the connection)."""
    dockerd.docker("run", "-d", "--name", "execmissing", "--runtime", "runsc-py",
                   "--network", "none", dockerd.image, "sleep", "100")
    try:
        proc = dockerd.docker("exec", "execmissing", "no-such-program", check=False)
        said = proc.stdout + proc.stderr   # (docker exec prints it on stdout)
        assert 'exec: "no-such-program": executable file not found' in said, proc
        assert "closed the connection" not in proc.stderr and proc.returncode == 126, proc
        assert dockerd.docker("exec", "execmissing", "echo", "still here").stdout == "still here\n"
    finally:
        dockerd.docker("rm", "-f", "execmissing", check=False)


def test_docker_stop_of_an_init_without_a_handler(dockerd):
    """As under runc: `sleep` as the container's init has no SIGTERM handler,
    so Linux drops the SIGTERM and docker kills it after the grace period."""
    dockerd.docker("run", "-d", "--name", "stopme", "--runtime", "runsc-py", "--network", "none",
                   dockerd.image, "sleep", "100")
    start = time.monotonic()
    dockerd.docker("stop", "-t", "2", "stopme")
    assert time.monotonic() - start >= 2   # the grace period ran out: SIGTERM was dropped
    code = dockerd.docker("inspect", "-f", "{{.State.ExitCode}}", "stopme").stdout.strip()
    assert code == "137"
    dockerd.docker("rm", "stopme")


def test_docker_stop_of_an_init_that_handles_sigterm(dockerd):
    dockerd.docker("run", "-d", "--name", "stopme2", "--runtime", "runsc-py", "--network", "none",
                   dockerd.image, "sh", "-c", "trap 'exit 143' TERM; sleep 100 & wait")
    dockerd.docker("stop", "-t", "60", "stopme2")
    code = dockerd.docker("inspect", "-f", "{{.State.ExitCode}}", "stopme2").stdout.strip()
    assert code == "143"
    dockerd.docker("rm", "stopme2")


def test_docker_exec(dockerd):
    dockerd.docker("run", "-d", "--name", "execme", "--runtime", "runsc-py", "--network", "none",
                   dockerd.image, "sleep", "100")
    proc = dockerd.docker("exec", "execme", "sh", "-c", "echo inside; exit 4", check=False)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == "inside\n"
    dockerd.docker("rm", "-f", "execme")


def test_docker_run_with_a_tty(dockerd):
    proc = dockerd.docker("run", "-t", *RUN[1:], dockerd.image, "sh", "-c",
                          "test -t 0 && echo has-a-tty && tty", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["has-a-tty", "/dev/pts/0"]   # a devpts of its own, as runc


def test_docker_exec_with_a_tty(dockerd):
    dockerd.docker("run", "-d", "--name", "ttyexec", "--runtime", "runsc-py", "--network", "none",
                   dockerd.image, "sleep", "100")
    proc = dockerd.docker("exec", "-t", "ttyexec", "sh", "-c", "test -t 1 && echo exec-tty && tty",
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["exec-tty", "/dev/pts/0"]
    dockerd.docker("rm", "-f", "ttyexec")


# -- dockerd's default bridge network: libnetwork's prestart hook -----------------
#
# For a bridge (and for --network none) dockerd sends a `network` namespace
# entry without a path and configures /proc/PID/ns/net of the pid the runtime
# reports from its libnetwork-setkey prestart hook: it moves a veth in, renames
# it eth0, gives it an address and sets net.ipv6.conf.{all,default}.disable_ipv6.
# That namespace must be the container's new one, never the host's.

DISABLE_IPV6 = ("/proc/sys/net/ipv6/conf/all/disable_ipv6",
                "/proc/sys/net/ipv6/conf/default/disable_ipv6")


def _host_network() -> tuple[dict[str, str], dict[str, str]]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    links = {line.split(":")[0]: line.split(":")[1].strip().partition("@")[0]
             for line in out.splitlines()}
    return links, {path: pathlib.Path(path).read_text() for path in DISABLE_IPV6}


@pytest.fixture(scope="module")
def bridged_dockerd(tmp_path_factory):
    """dockerd whose default network is a bridge made for it (172.31.251.1/24),
    with a second runtime `runsc-host` = runsc-py --network=host. The bridge is
    removed and the host's disable_ipv6 restored afterwards."""
    if shutil.which("dockerd") is None or shutil.which("ip") is None:
        pytest.skip("needs docker.io and iproute2")
    links, sysctls = _host_network()
    if any("172.31.251." in line for line in subprocess.run(
            ["ip", "-o", "addr"], capture_output=True, text=True).stdout.splitlines()):
        pytest.skip("172.31.251.0/24 is in use on this host")
    tmp = tmp_path_factory.mktemp("dockerd-bridge")
    bridge = f"rpbr{random.randrange(1 << 16):04x}"
    leftovers = daemons.Leftovers()
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    engine = None
    try:
        subprocess.run(["ip", "addr", "add", "172.31.251.1/24", "dev", bridge], check=True)
        subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
        engine = daemons.Dockerd(tmp, daemons.runtime_wrapper(tmp), bridge=bridge,
                                 runtimes={"runsc-host": ["--network=host"]},
                                 extra=("--userland-proxy=true",))  # -p through docker-proxy
        try:
            engine.start()
        except daemons.EngineUnavailable as exc:
            pytest.skip(f"dockerd cannot start here: {exc}")
        engine.image = "runsc-py-busybox:latest"
        engine.docker("load", "-i", images.docker_archive(str(tmp / "image.tar"), engine.image))
        engine.host_before = (links, sysctls)
        yield engine
    finally:
        if engine is not None and engine.proc is not None:
            ids = engine.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                engine.docker("rm", "-f", *ids, check=False)
            engine.stop()
        subprocess.run(["ip", "link", "del", bridge], check=False)
        for path, value in sysctls.items():
            pathlib.Path(path).write_text(value)
        leftovers.clean()


def _assert_host_untouched(engine) -> None:
    links, sysctls = engine.host_before
    now_links, now_sysctls = _host_network()
    for index, name in links.items():
        assert now_links.get(index) == name, \
            f"host link {index} {name} is now {now_links.get(index)}"
    assert now_sysctls == sysctls, "libnetwork's hook changed the host's disable_ipv6"


def test_the_bridge_network_is_configured_in_the_containers_namespace(bridged_dockerd):
    engine = bridged_dockerd
    engine.docker("run", "-d", "--name", "bridged", "--runtime", "runsc-py", engine.image,
                  "sleep", "100")
    try:
        pid = int(engine.docker("inspect", "-f", "{{.State.Pid}}", "bridged").stdout)
        ns = f"/proc/{pid}/ns/net"
        assert os.readlink(ns) != os.readlink("/proc/self/ns/net")
        inside = subprocess.run(["nsenter", f"--net={ns}", "ip", "-o", "addr"],
                                capture_output=True, text=True, check=True).stdout
        assert " eth0 " in inside and "inet 172.31.251." in inside, inside
        _assert_host_untouched(engine)
    finally:
        engine.docker("rm", "-f", "bridged", check=False)
    _assert_host_untouched(engine)


def test_network_host_workload_sees_the_bridge_address(bridged_dockerd):
    """runsc-py --network=host under a docker bridge: the workload's network
    is the container's namespace libnetwork configured."""
    engine = bridged_dockerd
    proc = engine.docker("run", "--rm", "--runtime", "runsc-host", engine.image,
                         "busybox", "ip", "-o", "addr", check=False)
    assert proc.returncode == 0, proc.stderr
    assert "eth0" in proc.stdout and "inet 172.31.251." in proc.stdout, proc.stdout
    _assert_host_untouched(engine)


def _http_get(port: int, timeout: float = 30) -> str:
    """GET / from 127.0.0.1:PORT, retried until the server is up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                return reply.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


HTTPD = ("mkdir -p /www && echo served-by-$(hostname) > /www/index.html && "
         "exec httpd -f -p 80 -h /www")


def test_a_published_port_reaches_the_containers_server(bridged_dockerd):
    """docker run -p: docker-proxy connects to the container's address on the
    bridge, where the workload's listener is (its network is the namespace
    libnetwork configured, as under runc), with runsc-py's default flags."""
    engine = bridged_dockerd
    port = 18000 + random.randrange(1000)
    engine.docker("run", "-d", "--name", "web", "--hostname", "web", "--runtime", "runsc-py",
                  "-p", f"127.0.0.1:{port}:80", engine.image, "sh", "-c", HTTPD)
    try:
        assert _http_get(port) == "served-by-web\n"
        # and the container reaches its gateway (the bridge) with docker's
        # default capabilities: a raw ICMP socket, as under runc
        ping = engine.docker("exec", "web", "busybox", "ping", "-c1", "-W5", "172.31.251.1",
                             check=False)
        assert "1 packets received" in ping.stdout, ping.stdout + ping.stderr
        _assert_host_untouched(engine)
    finally:
        engine.docker("rm", "-f", "web", check=False)


def test_network_host_serves_on_the_hosts_loopback(dockerd):
    """docker run --network host (no network namespace in the spec): the
    host's network, as under runc: a server the container starts on
    127.0.0.1 answers the host."""
    port = 19000 + random.randrange(1000)
    serve = HTTPD.replace("-p 80", f"-p 127.0.0.1:{port}")
    dockerd.docker("run", "-d", "--name", "hostnet", "--network", "host",
                   "--runtime", "runsc-py", dockerd.image, "sh", "-c", serve)
    try:
        assert _http_get(port).startswith("served-by-")
    finally:
        dockerd.docker("rm", "-f", "hostnet", check=False)


def test_containers_on_a_user_network_reach_each_other(bridged_dockerd):
    """docker network create: a client container fetches from a server
    container by its address on the network, and sees its own there."""
    engine = bridged_dockerd
    net = f"rpnet{random.randrange(1 << 16):04x}"
    engine.docker("network", "create", "--subnet", "172.31.252.0/24", net)
    try:
        engine.docker("run", "-d", "--name", "server", "--hostname", "server", "--network", net,
                      "--ip", "172.31.252.10", "--runtime", "runsc-py", engine.image,
                      "sh", "-c", HTTPD)
        fetch = ("for i in $(seq 100); do wget -q -O - http://172.31.252.10/ && break; "
                 "sleep 0.2; done; busybox ip -o addr show eth0")
        proc = engine.docker("run", "--rm", "--network", net, "--ip", "172.31.252.11",
                             "--runtime", "runsc-py", engine.image, "sh", "-c", fetch,
                             timeout=120)
        assert "served-by-server" in proc.stdout, proc.stdout + proc.stderr
        assert "inet 172.31.252.11/24" in proc.stdout, proc.stdout
    finally:
        engine.docker("rm", "-f", "server", check=False)
        engine.docker("network", "rm", net, check=False)
    _assert_host_untouched(engine)


def test_changes_in_a_container_are_the_engines_to_see(dockerd, tmp_path):
    """docker cp out, docker diff and docker commit see what the container wrote
    (its rootfs is written, as under runc: issue 15)."""
    dockerd.docker("run", "--name", "writer", "--runtime", "runsc-py", "--network", "none",
                   dockerd.image, "sh", "-c", "echo made > /made && rm /etc/hostname")
    try:
        dockerd.docker("cp", "writer:/made", str(tmp_path / "made"))
        assert (tmp_path / "made").read_text() == "made\n"
        diff = dockerd.docker("diff", "writer").stdout.split("\n")
        assert "A /made" in diff, diff
        dockerd.docker("commit", "writer", "runsc-py-committed")
        proc = dockerd.docker(*RUN, "runsc-py-committed", "cat", "/made", check=False)
        assert proc.stdout == "made\n", proc.stderr
    finally:
        dockerd.docker("rm", "writer", check=False)
        dockerd.docker("rmi", "runsc-py-committed", check=False)
