"""What programs read from /proc and /sys when the sandbox has limits and
sysctls set: glibc, Python and busybox must see the sandbox's figures."""
import json
import os
import pathlib
import sys

import pytest

from tests.conftest import run

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
