"""podman 4.3 with `--runtime runsc-py` (through conmon)."""
from __future__ import annotations

import pathlib
import random
import re
import shutil
import subprocess

import pytest

from tests.engines.test_dockerd import HTTPD, _http_get


def test_podman_run_rm(podman):
    proc = podman.podman("run", "--rm", "--network", "none", podman.image,
                         "echo", "hello", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello\n"


def test_exit_status_passes_through(podman):
    proc = podman.podman("run", "--rm", "--network", "none", podman.image,
                         "sh", "-c", "exit 3", check=False)
    assert proc.returncode == 3, proc.stderr


def test_top_lists_the_containers_processes(podman):
    """psgo joins the mount namespace of the pid the runtime reports (the
    sentry's) and lists /proc there: the sandbox's pid namespace, with
    elapsed times since those processes started; before, every host
    process, with the host's times."""
    cid = podman.podman("run", "-d", "--network", "none", podman.image,
                        "sh", "-c", "sleep 100 & sleep 100").stdout.strip()
    try:
        rows = [line.split(None, 2) for line in
                podman.podman("top", cid, "pid", "etime", "args").stdout.splitlines()[1:]]
        assert [(pid, args.strip()) for pid, _, args in rows] == \
            [("1", "sleep 100"), ("2", "sleep 100")], rows
        # seconds (or ms) since they started, not the host's hours
        assert not any(re.search(r"\d+h|\d+m\d", etime) for _, etime, _ in rows), rows
    finally:
        podman.podman("rm", "-f", cid, check=False)


def _firewall() -> dict[str, str]:
    """iptables-save and ip6tables-save, without comments and counters, and
    without tables that hold nothing (a builtin chain's ACCEPT policy only:
    as good as a table never loaded)."""
    dumps = {}
    for tool in ("iptables-save", "ip6tables-save"):
        if not shutil.which(tool):
            continue
        out = subprocess.run([tool], capture_output=True, text=True).stdout
        tables, kept = out.split("\n*")[1:], []
        for table in tables:
            lines = [re.sub(r" \[\d+:\d+\]$", "", line) for line in table.splitlines()]
            if any(line.startswith("-A") or (line.startswith(":") and " ACCEPT" not in line)
                   for line in lines):
                kept.append("*" + "\n".join(lines) + "\n")
        dumps[tool] = "".join(kept)
    return dumps


def _restore_firewall(before: dict[str, str]) -> None:
    """Put the host's rules back as they were: a table the dump had is
    restored from it; one netavark added is flushed and its chains deleted."""
    for save, dump in before.items():
        tool = save.replace("-save", "")
        had = {line[1:] for line in dump.splitlines() if line.startswith("*")}
        now = _firewall().get(save, "")
        for table in {line[1:] for line in now.splitlines() if line.startswith("*")} - had:
            subprocess.run([tool, "-t", table, "-F"], check=False)
            subprocess.run([tool, "-t", table, "-X"], check=False)
        if dump:
            subprocess.run([f"{tool}-restore"], input=dump, text=True, check=False)


@pytest.fixture
def host_network_kept():
    """What netavark changes on the host for a bridge (a podman0 link, the
    firewall, ip_forward) is put back afterwards, and checked unchanged."""
    links = set(subprocess.run(["ip", "-o", "link"], capture_output=True, text=True,
                               check=True).stdout.split("\n"))
    forward = pathlib.Path("/proc/sys/net/ipv4/ip_forward")
    firewall, forwarding = _firewall(), forward.read_text()
    yield
    subprocess.run(["ip", "link", "del", "podman0"], capture_output=True, check=False)
    _restore_firewall(firewall)
    forward.write_text(forwarding)
    assert _firewall() == firewall
    names = {line.split(":")[1] for line in links if ":" in line}
    now = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert {line.split(":")[1] for line in now.split("\n") if ":" in line} == names


def test_a_published_port_reaches_the_containers_server(podman, host_network_kept):
    """podman run -p on its bridge (netavark: a veth in the namespace it made
    for the container, which the sentry's network is): the host reaches the
    workload's listener through the published port, as under runc."""
    port = 18000 + random.randrange(1000)
    cid = podman.podman("run", "-d", "--network", "bridge", "--hostname", "web",
                        "-p", f"127.0.0.1:{port}:80", podman.image, "sh", "-c", HTTPD).stdout.strip()
    try:
        assert _http_get(port) == "served-by-web\n"
    finally:
        podman.podman("rm", "-f", cid, check=False)


def test_podman_commit_sees_what_the_container_wrote(podman):
    podman.podman("run", "--name", "writer", "--network", "none", podman.image,
                  "sh", "-c", "echo made > /made")
    try:
        podman.podman("commit", "writer", "localhost/runsc-py-committed")
        proc = podman.podman("run", "--rm", "--network", "none", "localhost/runsc-py-committed",
                             "cat", "/made", check=False)
        assert proc.stdout == "made\n", proc.stderr
    finally:
        podman.podman("rm", "-f", "writer", check=False)
        podman.podman("rmi", "localhost/runsc-py-committed", check=False)
