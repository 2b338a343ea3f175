"""What programs read from /proc and /sys when the sandbox has limits and
sysctls set: glibc, Python and busybox must see the sandbox's figures."""
import json
import os
import pathlib
import sys

import pytest

from tests.conftest import run, sandboxed

SCRIPT = pathlib.Path(__file__).with_name("limited_sandbox.py")
ROOT = pathlib.Path(__file__).resolve().parents[2]


def limited(platform: str, config: dict, *argv: str):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return run([sys.executable, str(SCRIPT), platform, json.dumps(config), "--", *argv],
               env=env, cwd=str(ROOT))


@pytest.fixture
def two_cpus():
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs a host with two CPUs to show one of them")


def test_cpu_limits_reach_glibc_and_python(platform, two_cpus):
    source = ("import os, re; print(os.cpu_count(), open('/sys/devices/system/cpu/online').read().strip(),"
              " len(re.findall(r'(?m)^processor', open('/proc/cpuinfo').read())),"
              " len(re.findall(r'(?m)^cpu\\d', open('/proc/stat').read())))")
    r = limited(platform, {"limits": {"cpuset": [1]}}, sys.executable, "-c", source)
    assert r.out == b"1 1 1 1\n", r
    r = limited(platform, {"limits": {"cpus": 0.5}}, sys.executable, "-c", source)
    assert r.out == b"1 0 1 1\n", r


def test_memory_limit_reaches_top(platform, busybox):
    r = limited(platform, {"limits": {"memory_bytes": 512 << 20}}, busybox, "sh", "-c",
                "grep MemTotal /proc/meminfo; top -bn1 | head -1")
    lines = r.out.decode().splitlines()
    assert lines[0].split() == ["MemTotal:", str(512 * 1024), "kB"], r
    used, free = (int(x.rstrip("K")) for x in lines[1].split()[1:4:2])
    assert used + free == 512 * 1024, r


def test_sysctls_and_hostname(platform, busybox):
    config = {"sysctl": {"kernel.pid_max": "4096", "fs.nr_open": "2048"}, "hostname": "box"}
    r = limited(platform, config, busybox, "sh", "-c",
                "cat /proc/sys/kernel/pid_max /proc/sys/fs/nr_open /proc/sys/kernel/hostname;"
                " hostname; uname -r; cat /proc/sys/kernel/osrelease")
    lines = r.out.decode().splitlines()
    assert lines[:4] == ["4096", "2048", "box", "box"], r
    assert lines[4] == lines[5], r


def test_dev_tty_is_the_callers_terminal(platform, busybox):
    """runsc-py run on a terminal: /dev/tty and /dev/console write to it."""
    import fcntl
    import select
    import subprocess
    import termios

    from tests.conftest import RUNSC_PY

    master, slave = os.openpty()

    def controlling_terminal():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.run(
            RUNSC_PY + ["do", f"--platform={platform}", "--", busybox, "sh", "-c",
                        "echo via-tty > /dev/tty; echo via-console > /dev/console; echo $?"],
            stdin=slave, capture_output=True, timeout=60, preexec_fn=controlling_terminal,
            cwd=str(ROOT))
        got = b""
        while select.select([master], [], [], 0.5)[0]:
            got += os.read(master, 1000)
            if b"via-console" in got:
                break
    finally:
        os.close(slave)
        os.close(master)
    assert proc.stdout == b"0\n", proc
    assert got == b"via-tty\r\nvia-console\r\n"


def test_dev_tty_without_a_terminal_is_enxio(platform, busybox):
    from tests.conftest import sandboxed

    r = sandboxed(platform, busybox, "sh", "-c", "echo x > /dev/tty", start_new_session=True)
    assert r.code != 0 and b"No such device or address" in r.err, r


def test_cmdline_and_devices_are_the_sandboxs(platform, busybox):
    """/proc/cmdline and /proc/devices exist (programs read them) and show the
    sandbox, not the host: its kernel release, its devfs's drivers."""
    r = sandboxed(platform, busybox, "sh", "-c", "cat /proc/cmdline /proc/devices")
    assert r.code == 0, r
    out = r.out.decode()
    assert out.startswith("BOOT_IMAGE=/vmlinuz-6.1.0-runsc-py "), out
    assert "Character devices:\n  1 mem\n" in out and "136 pts\n" in out and "Block devices:" in out
