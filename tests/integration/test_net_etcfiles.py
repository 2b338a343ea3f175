"""/etc/hosts, /etc/hostname and /etc/resolv.conf follow the sandbox's network,
as files of the overlay root (the host's stay as they are)."""
import hashlib

from tests.conftest import sandboxed


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_the_sandbox_names_itself(platform, busybox):
    before = {p: _digest(p) for p in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")}
    r = sandboxed(platform, busybox, "sh", "-c",
                  "hostname; cat /etc/hostname; grep -w \"$(hostname)\" /etc/hosts; "
                  "cat /etc/resolv.conf; echo '10.9.9.9 added' >> /etc/hosts && tail -1 /etc/hosts")
    lines = r.out.decode().splitlines()
    assert lines[0] == lines[1] == "runsc-py", r
    assert lines[2] == "10.0.2.15\trunsc-py", r
    assert lines[3].startswith("# no name server"), r
    assert lines[4] == "10.9.9.9 added", r  # writable, like a container's
    assert {p: _digest(p) for p in before} == before


def test_network_none_and_the_read_only_root(platform, busybox):
    r = sandboxed(platform, busybox, "grep", "-w", "runsc-py", "/etc/hosts", flags=("--network=none",))
    assert r.out == b"127.0.1.1\trunsc-py\n", r
    host = open("/etc/hostname", "rb").read()
    r = sandboxed(platform, busybox, "cat", "/etc/hostname", flags=("--overlay=none",))
    assert r.out == host, r  # nothing to write them into: the host's show, read-only
