"""docs/kubernetes.md's containerd CRI configuration, started for real."""
from __future__ import annotations

import pathlib
import re

import pytest

from tests.engines import daemons

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "kubernetes.md"


def documented_config() -> str:
    text = DOC.read_text()
    block = text.split("<!-- containerd-cri-config:begin -->")[1].split(
        "<!-- containerd-cri-config:end -->")[0]
    return re.search(r"```toml\n(.*?)```", block, re.S).group(1)


def test_containerd_loads_the_documented_cri_runtime(tmp_path):
    engine = daemons.Containerd(tmp_path)
    base = engine.default_config().replace(
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n', "")
    wrapper = daemons.runtime_wrapper(tmp_path)
    doc = documented_config().replace("/usr/local/bin/runsc-py", str(wrapper)) \
                             .replace("/run/containerd/runsc-py", str(tmp_path / "runsc-py"))
    extra = f"""
[plugins."io.containerd.grpc.v1.cri"]
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{tmp_path}/cni/bin"
    conf_dir = "{tmp_path}/cni/conf"
"""
    engine.config.write_text(base + extra + doc)
    leftovers = daemons.Leftovers()
    try:
        engine.start()
    except daemons.EngineUnavailable as exc:
        pytest.skip(f"containerd cannot start here: {exc}")
    try:
        plugins = engine.ctr("plugins", "ls").stdout
        cri = [line for line in plugins.splitlines() if "io.containerd.grpc.v1" in line
               and " cri " in f" {line.split()[1]} "]
        assert cri and cri[0].split()[-1] == "ok", plugins
        log = engine.log.read_text()
        assert "runsc-py" in log and str(wrapper) in log, log[-2000:]
    finally:
        engine.stop()
        leftovers.clean()
