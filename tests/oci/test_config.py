"""config.json fields reach the sandbox: resources, rlimits, oomScoreAdj, names."""
from __future__ import annotations

import json
import os
import stat


def _set(bundle, args, process=None, linux=None, **top):
    doc = bundle.config(args)
    doc["process"].update(process or {})
    doc["linux"].update(linux or {})
    doc.update(top)
    (bundle.path / "config.json").write_text(json.dumps(doc))


def _descendants(pid: int) -> set[int]:
    """Host pids whose ancestry reaches `pid`."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass   # gone meanwhile
    found, grew = set(), True
    while grew:
        grew = False
        for child, parent in parents.items():
            if child not in found and (parent == pid or parent in found):
                found.add(child)
                grew = True
    return found


def test_resources_become_the_sandbox_cgroup(bundle):
    _set(bundle, ["sleep", "100"], linux={"resources": {
        "memory": {"limit": 128 * 1024 * 1024}, "pids": {"limit": 64},
        "cpu": {"quota": 50000, "period": 100000}}})
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    pid = bundle.state("c1")["pid"]
    cg = "/sys/fs/cgroup/memory/runsc-py/c1"
    assert int(open(f"{cg}/memory.limit_in_bytes").read()) == 128 * 1024 * 1024
    assert pid in [int(p) for p in open(f"{cg}/cgroup.procs").read().split()]
    # the sandbox moves itself in before it forks: its gofer and workload start there
    family = _descendants(pid) | {pid}
    assert len(family) >= 3   # sandbox, gofer, init
    for controller in ("memory", "pids", "cpu", "freezer"):
        procs = open(f"/sys/fs/cgroup/{controller}/runsc-py/c1/cgroup.procs").read().split()
        assert family <= {int(p) for p in procs}, controller
    assert open("/sys/fs/cgroup/pids/runsc-py/c1/pids.max").read().strip() == "64"
    assert open("/sys/fs/cgroup/cpu/runsc-py/c1/cpu.cfs_quota_us").read().strip() == "50000"
    stats = json.loads(bundle.cli("events", "--stats", "c1").stdout)["data"]
    assert stats["pids"]["limit"] == 64


def test_rlimits_and_oom_score_adj(bundle):
    _set(bundle, ["sh", "-c", "ulimit -n; exec sleep 100"],
         process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 512}],
                  "oomScoreAdj": 500})
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    pid = bundle.state("c1")["pid"]
    assert open(f"/proc/{pid}/oom_score_adj").read().strip() == "500"
    workload = json.loads(bundle.cli("ps", "-f", "json", "c1").stdout)[0]
    limits = open(f"/proc/{workload}/limits").read()
    line = next(x for x in limits.splitlines() if x.startswith("Max open files"))
    assert line.split()[3:5] == ["321", "512"]


def _nofile_ceiling() -> int:
    """The highest RLIMIT_NOFILE a root process may set here: fs.nr_open with
    CAP_SYS_RESOURCE (some VMs' root lacks it), else its own hard limit."""
    import resource

    cap_eff = int(next(line for line in open("/proc/self/status")
                       if line.startswith("CapEff:")).split()[1], 16)
    if cap_eff >> 24 & 1:
        return int(open("/proc/sys/fs/nr_open").read())
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def test_rlimits_are_given_exactly_up_to_what_the_host_allows(bundle):
    """RLIMIT_NOFILE at the host's ceiling is given as asked, soft and hard."""
    ceiling = _nofile_ceiling()
    _set(bundle, ["sh", "-c", "ulimit -n; ulimit -Hn"], process={"rlimits": [
        {"type": "RLIMIT_NOFILE", "soft": ceiling, "hard": ceiling}]})
    proc = bundle.cli("run", "-b", str(bundle.path), "c1")
    assert proc.returncode == 0 and proc.stdout.split() == [str(ceiling)] * 2, proc.stdout


def test_an_rlimit_the_host_refuses_fails_create_naming_it(bundle):
    """As runc's create fails (a warning and a lower value would not be what
    the spec says)."""
    ceiling = _nofile_ceiling()
    _set(bundle, ["true"], process={"rlimits": [
        {"type": "RLIMIT_NOFILE", "soft": ceiling + 1, "hard": ceiling + 1}]})
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0, proc.stdout
    assert f"process.rlimits RLIMIT_NOFILE={ceiling + 1}:{ceiling + 1}: this host allows at " \
           f"most {ceiling}" in proc.stdout, proc.stdout


def test_unknown_rlimit_and_bad_hook_are_refused(bundle):
    _set(bundle, ["true"], process={"rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]})
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0 and "unknown limit 'RLIMIT_BOGUS'" in proc.stdout
    _set(bundle, ["true"], process={"rlimits": []}, hooks={"sometime": []})
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0 and "hooks.sometime is not a hook kind" in proc.stdout


def test_hostname(bundle):
    _set(bundle, ["hostname"], hostname="web")
    proc = bundle.cli("run", "-b", str(bundle.path), "c1")
    assert proc.stdout == "web\n"


def test_mounts_are_applied(bundle, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in").write_text("from the host\n")
    doc = bundle.config(["sh", "-c", "cat /data/in; echo out > /data/out; "
                                     "echo t > /scratch/t && cat /scratch/t; cat /etc/secret"])
    doc["mounts"] += [{"destination": "/data", "type": "bind", "source": str(shared),
                       "options": ["rbind", "rw"]},
                      {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs"}]
    (bundle.path / "rootfs" / "etc" / "secret").write_text("hidden\n")
    doc["linux"]["maskedPaths"] = ["/etc/secret"]
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("run", "-b", str(bundle.path), "m1")
    assert "from the host" in proc.stdout and "t\n" in proc.stdout, proc.stdout
    assert "hidden" not in proc.stdout
    assert (shared / "out").read_text() == "out\n"


def test_a_writable_root_is_written(bundle):
    """The rootfs is the container's own (an engine's private overlayfs): its
    changes land there, where `docker cp`, `diff` and `commit` look, as under
    runc. Made, renamed, removed and chmod'ed; a FIFO and a symlink too."""
    doc = bundle.config(["sh", "-c", "echo new > /etc/made && cat /etc/made && mkdir /srv/d && "
                                     "echo x > /srv/d/f && mv /srv/d/f /srv/d/g && rm /etc/hostname; "
                                     "chmod 600 /srv/d/g && mkfifo /srv/p && ln -s g /srv/d/l"])
    doc["root"]["readonly"] = False
    (bundle.path / "config.json").write_text(json.dumps(doc))
    rootfs = bundle.path / "rootfs"
    (rootfs / "srv").mkdir(exist_ok=True)
    (rootfs / "etc" / "hostname").write_text("old\n")
    proc = bundle.cli("run", "-b", str(bundle.path), "w1")
    assert proc.returncode == 0 and proc.stdout == "new\n", proc.stdout
    assert (rootfs / "etc" / "made").read_text() == "new\n"
    assert (rootfs / "srv" / "d" / "g").read_text() == "x\n" and not (rootfs / "srv" / "d" / "f").exists()
    assert not (rootfs / "etc" / "hostname").exists()
    assert (rootfs / "srv" / "d" / "g").stat().st_mode & 0o777 == 0o600
    assert stat.S_ISFIFO((rootfs / "srv" / "p").lstat().st_mode)
    assert os.readlink(rootfs / "srv" / "d" / "l") == "g"


def test_overlay_memory_keeps_a_writable_roots_changes_in_the_sandbox(bundle):
    doc = bundle.config(["sh", "-c", "echo new > /etc/made && cat /etc/made"])
    doc["root"]["readonly"] = False
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("--overlay=memory", "run", "-b", str(bundle.path), "w2")
    assert proc.returncode == 0 and proc.stdout == "new\n", proc.stdout
    assert not (bundle.path / "rootfs" / "etc" / "made").exists()   # the overlay is in memory


def test_a_bad_mount_is_refused_by_name(bundle):
    doc = bundle.config(["true"])
    doc["mounts"].append({"destination": "/x", "type": "bind", "source": "/no/such/dir",
                          "options": ["rbind"]})
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("create", "-b", str(bundle.path), "b1")
    assert proc.returncode != 0 and "/no/such/dir" in proc.stdout


def test_noexec_tmpfs_mount_refuses_exec(bundle):
    doc = bundle.config(["sh", "-c", "cp /bin/busybox /scratch/echo; /scratch/echo hi; "
                                     "cp /bin/busybox /tmp/echo; /tmp/echo ok-elsewhere"])
    doc["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                          "options": ["nosuid", "nodev", "noexec"]})
    bundle.config(mounts=doc["mounts"], root={"path": "rootfs", "readonly": False})
    proc = bundle.cli("run", "--bundle", str(bundle.path), "noexec")
    assert "Permission denied" in proc.stdout and "hi" not in proc.stdout.replace("hi:", ""), proc.stdout
    assert "ok-elsewhere" in proc.stdout, proc.stdout


def test_sysctl_values_are_the_sandboxs(bundle):
    """linux.sysctl reads back in /proc/sys, kernel.domainname is the domain name,
    and root in the container can change them; the host's /proc/sys never changes."""
    host_somaxconn = open("/proc/sys/net/core/somaxconn").read()
    script = ("cat /proc/sys/net/core/somaxconn /proc/sys/kernel/domainname;"
              " echo 77 > /proc/sys/net/core/somaxconn; cat /proc/sys/net/core/somaxconn;"
              " echo renamed > /proc/sys/kernel/hostname; hostname")
    doc = bundle.config(["sh", "-c", script])
    doc["linux"]["sysctl"] = {"net.core.somaxconn": "1234", "kernel.domainname": "example.test"}
    doc["linux"]["readonlyPaths"] = [p for p in doc["linux"]["readonlyPaths"] if p != "/proc/sys"]
    (bundle.path / "config.json").write_text(json.dumps(doc))
    proc = bundle.cli("run", "-b", str(bundle.path), "c1")
    assert proc.stdout == "1234\nexample.test\n77\nrenamed\n", proc.stdout
    assert open("/proc/sys/net/core/somaxconn").read() == host_somaxconn


def test_proc_sys_in_readonly_paths_refuses_writes(bundle):
    """runc's default spec lists /proc/sys in readonlyPaths: EROFS, as with runc."""
    _set(bundle, ["sh", "-c", "echo x > /proc/sys/kernel/hostname; hostname"], hostname="web")
    proc = bundle.cli("run", "-b", str(bundle.path), "c1")
    assert "Read-only file system" in proc.stdout and proc.stdout.endswith("web\n"), proc.stdout


def test_a_writable_roots_new_files_belong_to_their_makers(bundle):
    doc = bundle.config(["sh", "-c", "echo mine > /srv/mine && mkdir /srv/dir"])
    doc["root"]["readonly"] = False
    doc["process"]["user"] = {"uid": 1000, "gid": 1001}
    (bundle.path / "config.json").write_text(json.dumps(doc))
    srv = bundle.path / "rootfs" / "srv"
    srv.mkdir(exist_ok=True)
    srv.chmod(0o777)
    proc = bundle.cli("run", "-b", str(bundle.path), "w3")
    assert proc.returncode == 0, proc.stdout
    for name in ("mine", "dir"):
        st = (srv / name).lstat()
        assert (st.st_uid, st.st_gid) == (1000, 1001), name


def test_cgroup_values_are_written_as_given(bundle):
    """runtime-tools' checks: cpu period and quota as given (not a ratio),
    shares, and the memory controller's reservation, swappiness and OOM
    switch."""
    _set(bundle, ["sleep", "100"], linux={"resources": {
        "cpu": {"quota": 30000, "period": 250000, "shares": 512},
        "memory": {"limit": 256 * 1024 * 1024, "reservation": 128 * 1024 * 1024,
                   "swappiness": 30, "disableOOMKiller": True}}})
    assert bundle.cli("run", "-d", "-b", str(bundle.path), "c1").returncode == 0
    cpu, memory = "/sys/fs/cgroup/cpu/runsc-py/c1", "/sys/fs/cgroup/memory/runsc-py/c1"
    if not os.path.isdir(cpu):   # cgroup v2: what it has of them (no swappiness, no OOM switch)
        unified = "/sys/fs/cgroup/runsc-py/c1"
        assert open(f"{unified}/cpu.max").read().split() == ["30000", "250000"]
        assert int(open(f"{unified}/memory.low").read()) == 128 * 1024 * 1024
        assert open(f"{unified}/cpu.weight").read().strip() == str(1 + (512 - 2) * 9999 // 262142)
        return
    assert open(f"{cpu}/cpu.cfs_period_us").read().strip() == "250000"
    assert open(f"{cpu}/cpu.cfs_quota_us").read().strip() == "30000"
    assert open(f"{cpu}/cpu.shares").read().strip() == "512"
    assert int(open(f"{memory}/memory.soft_limit_in_bytes").read()) == 128 * 1024 * 1024
    assert open(f"{memory}/memory.swappiness").read().strip() == "30"
    assert "oom_kill_disable 1" in open(f"{memory}/memory.oom_control").read()


def test_a_swappiness_out_of_range_fails_create(bundle):
    _set(bundle, ["true"], linux={"resources": {"memory": {"swappiness": 101}}})
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0 and "swappiness 101 is not in 0-100" in proc.stdout, proc.stdout


def _root_disk() -> tuple[int, int]:
    dev = os.stat("/").st_dev
    return os.major(dev), os.minor(dev)


def test_block_io_throttles_are_written_as_given(bundle):
    """blockIO's per-device throttles reach the blkio (v1) or io (v2) controller."""
    major, minor = _root_disk()
    _set(bundle, ["sleep", "100"], linux={"resources": {"blockIO": {
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 300}]}}})
    proc = bundle.cli("run", "-d", "-b", str(bundle.path), "c1")
    blkio = "/sys/fs/cgroup/blkio/runsc-py/c1"
    if os.path.isdir("/sys/fs/cgroup/blkio"):
        assert proc.returncode == 0, proc.stdout
        assert open(f"{blkio}/blkio.throttle.read_bps_device").read().split() == \
            [f"{major}:{minor}", "1048576"]
        assert open(f"{blkio}/blkio.throttle.write_iops_device").read().split() == \
            [f"{major}:{minor}", "300"]
    elif proc.returncode == 0:   # v2 with io enabled
        line = open("/sys/fs/cgroup/runsc-py/c1/io.max").read()
        assert "rbps=1048576" in line and "wiops=300" in line, line
    else:
        assert "cannot set" in proc.stdout, proc.stdout


def test_a_value_for_a_controller_the_host_lacks_fails_create(bundle):
    """As runc: net_cls here (v1 without it, or v2, which has none) is an
    error naming it, not a value silently dropped."""
    _set(bundle, ["true"], linux={"resources": {"network": {"classID": 1048577}}})
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    if os.path.isdir("/sys/fs/cgroup/net_cls"):
        assert proc.returncode == 0, proc.stdout
        assert open("/sys/fs/cgroup/net_cls/runsc-py/c1/net_cls.classid").read().strip() == \
            "1048577"
    else:
        assert proc.returncode != 0 and "net_cls" in proc.stdout, proc.stdout
        assert not os.path.exists("/sys/fs/cgroup/memory/runsc-py/c1")   # nothing left behind


def test_a_weight_the_host_cannot_set_fails_create(bundle):
    """blockIO.weight needs a weight file (BFQ, or v1's CFQ); without one
    create fails naming it rather than running unweighted."""
    _set(bundle, ["true"], linux={"resources": {"blockIO": {"weight": 500}}})
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    files = [f"/sys/fs/cgroup/blkio/{n}" for n in ("blkio.bfq.weight", "blkio.weight")]
    if os.path.isdir("/sys/fs/cgroup/blkio") and not any(map(os.path.exists, files)):
        assert proc.returncode != 0 and "weight" in proc.stdout, proc.stdout
    elif proc.returncode != 0:
        assert "weight" in proc.stdout, proc.stdout


def test_unified_resources_on_a_v1_host_fail_create(bundle):
    _set(bundle, ["true"], linux={"resources": {"unified": {"memory.high": "1000000"}}})
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    if os.path.isdir("/sys/fs/cgroup/memory"):
        assert proc.returncode != 0 and "unified" in proc.stdout, proc.stdout


def _device(path, kind, major=0, minor=0, mode=0o666, uid=0, gid=0):
    return {"path": path, "type": kind, "major": major, "minor": minor, "fileMode": mode,
            "uid": uid, "gid": gid}


def test_spec_devices_are_nodes_of_the_sandboxs_dev(bundle):
    """runtime-tools' linux_devices: each node with its type, number, mode
    and owner. A number the sandbox serves is that device, a FIFO is one,
    a number no driver serves gives ENXIO at open (as on Linux)."""
    devices = [_device("/dev/test1", "c", 10, 666, 0o620, 1, 2),
               _device("/dev/test2", "b", 8, 666, 0o600),
               _device("/dev/test3", "p", mode=0o644),
               _device("/dev/mynull", "c", 1, 3), _device("/dev/x/zero", "c", 1, 5)]
    script = ("for d in test1 test2 test3 mynull x/zero; do "
              "stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done; "
              "echo dropped > /dev/mynull && echo wrote; head -c 4 /dev/x/zero | od -An -tx1; "
              "cat /dev/test1 2>&1; (sleep 0.2; echo through > /dev/test3) & cat /dev/test3")
    _set(bundle, ["sh", "-c", script], linux={"devices": devices})
    proc = bundle.cli("run", "-b", str(bundle.path), "c1")
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    assert lines[:5] == ["/dev/test1 character special file a:29a 620 1:2",
                         "/dev/test2 block special file 8:29a 600 0:0",
                         "/dev/test3 fifo 0:0 644 0:0",
                         "/dev/mynull character special file 1:3 666 0:0",
                         "/dev/x/zero character special file 1:5 666 0:0"], proc.stdout
    assert lines[5:7] == ["wrote", " 00 00 00 00"], proc.stdout
    assert "No such device or address" in lines[7], proc.stdout
    assert lines[8] == "through", proc.stdout


def test_a_host_device_the_sandbox_does_not_serve_fails_create(bundle):
    """A number a host driver serves (here /dev/null's own number under
    another name is fine; the first char device sysfs lists that the
    sandbox does not serve is not) is refused by name."""
    served = {(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2)}
    numbers = sorted(tuple(map(int, n.split(":"))) for n in os.listdir("/sys/dev/char"))
    major, minor = next(n for n in numbers if n not in served)
    _set(bundle, ["true"], linux={"devices": [_device("/dev/host", "c", major, minor)]})
    proc = bundle.cli("create", "-b", str(bundle.path), "c1")
    assert proc.returncode != 0 and f"/dev/host (c {major}:{minor}) is a host device" \
        in proc.stdout, proc.stdout
