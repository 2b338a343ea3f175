"""busybox sh scripts natively and in the sandbox: stdout, stderr and status must agree.

Each script touches only what both sides must see the same way: the
root through the gofer. /proc, /dev and /sys are the sentry's own, and so
are /etc/hosts, /etc/hostname and /etc/resolv.conf.
"""
import pytest

from tests.differential.compare import assert_same

SCRIPTS = {
    "pipeline": "echo hello world | tr a-z A-Z | sed 's/WORLD/there/' | wc -c",
    "redirections": "echo a >/dev/null; echo b 2>&1 >/dev/null; cat </etc/os-release; echo err >&2",
    "subshells": "(cd /etc && pwd && (cd / && pwd)); pwd; (exit 4); echo status $?",
    "command substitution": 'echo "$(echo nested $(echo deeper) $(basename /usr/bin))"',
    "background jobs": "sleep 0.2 & sleep 0.1 & wait; echo both done; (sleep 0.1; echo bg) & wait",
    "ls -la": "ls -la /etc/apt /usr/share/doc/busybox-static",
    "os-release": "cat /etc/os-release",
    "sort | uniq -c": "cut -d: -f7 /etc/passwd | sort | uniq -c | sort -rn",
    "grep": "grep -c root /etc/passwd; grep -n nologin /etc/passwd | head -3; grep -q nosuchthing /etc/passwd; echo $?",
    "read loop": "i=0; while read line; do i=$((i+1)); done </etc/passwd; echo $i lines",
    "functions and traps": "f() { echo in f $1; return 7; }; f x; echo $?; trap 'echo bye' EXIT",
    "missing file": "cat /no/such/file; ls /etc/passwd/x; echo $?",
}


@pytest.mark.parametrize("script", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_script(platform, busybox, script):
    assert_same(platform, [busybox, "sh", "-c", script])


def test_find_shared_libraries(platform, busybox):
    # ~100k entries: the slowest of the default suite (about 10 s per platform)
    assert_same(platform, [busybox, "sh", "-c", "find /usr/lib -name '*.so*' | wc -l"], timeout=300)
