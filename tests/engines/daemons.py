"""Start containerd, dockerd and podman with all their state in a temporary directory.

Each engine is told to use runsc-py through the launcher setup.sh
installs (runsc_py/cli/launcher.py), written for this checkout and this
Python, so the environment an engine gives its runtime does not matter. What the engines leave outside their directory
(containerd's shim sockets in /run/containerd/s, runc-process and pty
temporary files, podman's lock and cache) is removed afterwards.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
LEFTOVERS = ("/run/containerd/s/*", "/tmp/runc-process*", "/tmp/pty*", "/dev/shm/libpod_lock",
             "/var/lib/containers/cache")

# Parent cgroups the engines make (containerd's is its namespace's name).
ENGINE_CGROUPS = ("docker", "libpod_parent", "runsc-test", "runsc-py")


def _cgroups() -> set[str]:
    return {p for name in ENGINE_CGROUPS for p in glob.glob(f"/sys/fs/cgroup/*/{name}")}


class EngineUnavailable(Exception):
    """The engine cannot start on this machine (the message says why)."""


def runtime_wrapper(directory: pathlib.Path) -> pathlib.Path:
    """An executable `runsc-py` for engines: the launcher setup.sh installs
    (an isolated interpreter), written for this checkout and this Python."""
    from runsc_py.cli.launcher import write_launcher

    path = directory / "runsc-py"
    write_launcher(str(path), sys.executable, str(REPO))
    return path


class Leftovers:
    """Remembers what existed outside our directories, removes what is new."""

    def __init__(self):
        self.before = {p for pattern in LEFTOVERS for p in glob.glob(pattern)}
        self.cgroups = _cgroups()

    def clean(self) -> None:
        for pattern in LEFTOVERS:
            for p in glob.glob(pattern):
                if p in self.before:
                    continue
                with contextlib.suppress(OSError):
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        os.unlink(p)
        for top in _cgroups() - self.cgroups:   # parent cgroups the engines made
            for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
                with contextlib.suppress(OSError):
                    os.rmdir(d)


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen, log: pathlib.Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise EngineUnavailable(f"{what} exited with {proc.returncode}: "
                                    f"{log.read_text()[-1500:]}")
        time.sleep(0.1)
    raise EngineUnavailable(f"{what} did not come up in {timeout}s: {log.read_text()[-1500:]}")


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Containerd:
    def __init__(self, tmp: pathlib.Path, config_text: str | None = None):
        self.tmp = tmp
        self.address = str(tmp / "containerd.sock")
        self.config = tmp / "config.toml"
        self.config.write_text(config_text or self.default_config())
        self.log = tmp / "containerd.log"
        self.proc: subprocess.Popen | None = None

    def default_config(self) -> str:
        t = self.tmp
        return f"""version = 2
root = "{t}/root"
state = "{t}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{t}/containerd.sock"

[ttrpc]
  address = "{t}/containerd.sock.ttrpc"

[debug]
  address = "{t}/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "{t}/opt"
"""

    def start(self) -> "Containerd":
        if shutil.which("containerd") is None or shutil.which("ctr") is None:
            raise EngineUnavailable("containerd is not installed (./setup.sh installs it)")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["containerd", "--config", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ctr("version", check=False).returncode == 0, 30, "containerd",
                 self.proc, self.log)
        return self

    def ctr(self, *args: str, check: bool = True, timeout: float = 60, **kw):
        proc = subprocess.run(["ctr", "--address", self.address, "--namespace", "runsc-test",
                               *args], capture_output=True, text=True, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed ({proc.returncode}): "
                                 f"{proc.stdout}{proc.stderr}")
        return proc

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


class Dockerd:
    def __init__(self, tmp: pathlib.Path, runtime: pathlib.Path, extra: tuple[str, ...] = (),
                 bridge: str = "none", runtimes: dict | None = None):
        """BRIDGE: an existing host bridge for the default network (or none);
        RUNTIMES: more daemon.json runtimes, NAME -> runtimeArgs for RUNTIME."""
        self.tmp = tmp
        self.host = f"unix://{tmp}/docker.sock"
        self.log = tmp / "dockerd.log"
        self.runtime = runtime
        self.extra = extra
        self.bridge = bridge
        self.runtimes = runtimes or {}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Dockerd":
        if shutil.which("dockerd") is None or shutil.which("docker") is None:
            raise EngineUnavailable("docker.io is not installed (./setup.sh installs it)")
        t = self.tmp
        import json

        config = {"deprecated-key-path": f"{t}/key.json"}
        if self.runtimes:
            config["runtimes"] = {name: {"path": str(self.runtime), "runtimeArgs": list(args)}
                                  for name, args in self.runtimes.items()}
        (t / "daemon.json").write_text(json.dumps(config))
        argv = ["dockerd", "--config-file", str(t / "daemon.json"), "--data-root", str(t / "data"),
                "--exec-root", str(t / "exec"), "--pidfile", str(t / "docker.pid"),
                "-H", self.host, "--iptables=false", "--ip6tables=false", "--ip-masq=false",
                f"--bridge={self.bridge}", "--userland-proxy=false",
                "--add-runtime", f"runsc-py={self.runtime}", *self.extra]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_for(lambda: self.docker("version", check=False).returncode == 0, 60, "dockerd",
                 self.proc, self.log)
        return self

    def docker(self, *args: str, check: bool = True, timeout: float = 60, **kw):
        proc = subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True,
                              timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}): "
                                 f"{proc.stdout}{proc.stderr}")
        return proc

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=30)
        # dockerd leaves its `default` network namespace bound under exec-root
        for ns in glob.glob(str(self.tmp / "exec" / "netns" / "*")):
            subprocess.run(["umount", "-l", ns], capture_output=True)


class Podman:
    """podman is daemonless: each call gets the same private storage flags."""

    def __init__(self, tmp: pathlib.Path, runtime: pathlib.Path):
        self.tmp = tmp
        self.runtime = runtime
        self.conf = tmp / "containers.conf"
        # podman's default nofile ulimit (1048576) is above what root may set on
        # hosts whose root lacks CAP_SYS_RESOURCE, and runc's and runsc-py's
        # create then fail (ENGINES.md): the host's own limit, as users set it
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.conf.write_text('[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
                             f'tmp_dir = "{tmp}/tmp"\n[containers]\nnetns = "none"\n'
                             f'default_ulimits = ["nofile={soft}:{hard}"]\n')

    def podman(self, *args: str, check: bool = True, timeout: float = 90, **kw):
        t = self.tmp
        env = dict(os.environ, CONTAINERS_CONF=str(self.conf))
        argv = ["podman", "--root", str(t / "root"), "--runroot", str(t / "runroot"),
                "--tmpdir", str(t / "tmp"), "--storage-driver", "overlay",
                "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                "--runtime", str(self.runtime), *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed ({proc.returncode}): "
                                 f"{proc.stdout}{proc.stderr}")
        return proc

    def start(self) -> "Podman":
        if shutil.which("podman") is None:
            raise EngineUnavailable("podman is not installed (./setup.sh installs it)")
        proc = self.podman("info", check=False)
        if proc.returncode != 0:
            raise EngineUnavailable(f"podman info failed: {proc.stderr[-1500:]}")
        return self

    def stop(self) -> None:
        self.podman("rm", "--all", "--force", check=False)
        self.podman("system", "reset", "--force", check=False)
