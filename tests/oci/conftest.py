"""Bundles built by the tests: a busybox rootfs and a config.json from `runsc-py spec`."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

RUNSC_PY = [sys.executable, "-m", "runsc_py.cli.main"]
APPLETS = ("sh", "true", "false", "echo", "sleep", "cat", "ls", "id", "hostname", "env", "pwd",
           "kill", "trap")


def make_rootfs(dest: pathlib.Path, busybox: str) -> pathlib.Path:
    (dest / "bin").mkdir(parents=True)
    shutil.copy(busybox, dest / "bin" / "busybox")
    for applet in APPLETS:
        os.symlink("busybox", dest / "bin" / applet)
    for d in ("proc", "dev", "sys", "tmp", "etc", "root"):
        (dest / d).mkdir()
    return dest


class Bundle:
    def __init__(self, path: pathlib.Path, root: pathlib.Path):
        self.path = path
        self.root = root   # --root for this test's containers

    def config(self, args=None, **changes) -> dict:
        doc = json.loads((self.path / "config.json").read_text())
        if args is not None:
            doc["process"]["args"] = list(args)
        for key, value in changes.items():
            doc[key] = value
        (self.path / "config.json").write_text(json.dumps(doc))
        return doc

    def cli(self, *argv: str, timeout: float = 30, **kw) -> subprocess.CompletedProcess:
        """runsc-py --root ROOT ARGV...; stdio captured through files (a created
        container keeps the stdio it was given, so pipes would never see EOF)."""
        out = self.path / f"out.{time.monotonic_ns()}"
        with open(out, "w+b") as f:
            proc = subprocess.run(RUNSC_PY + ["--root", str(self.root), *argv], stdout=f,
                                  stderr=subprocess.STDOUT, timeout=timeout, **kw)
            f.seek(0)
            proc.stdout = f.read().decode(errors="replace")
        return proc

    def state(self, cid: str) -> dict:
        proc = self.cli("state", cid)
        assert proc.returncode == 0, proc.stdout
        return json.loads(proc.stdout)

    def wait_status(self, cid: str, status: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(cid)
            if state["status"] == status or time.monotonic() > deadline:
                return state
            time.sleep(0.05)


@pytest.fixture
def bundle(tmp_path, busybox):
    path = tmp_path / "bundle"
    path.mkdir()
    make_rootfs(path / "rootfs", busybox)
    subprocess.run(RUNSC_PY + ["spec", "--bundle", str(path)], check=True)
    b = Bundle(path, tmp_path / "state")
    yield b
    for cid in os.listdir(b.root) if b.root.exists() else []:
        subprocess.run(RUNSC_PY + ["--root", str(b.root), "delete", "--force", cid],
                       capture_output=True, timeout=30)
