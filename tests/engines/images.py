"""Container images built with the standard library: no registry, no network.

One layer: a busybox rootfs as a tar. `oci_archive` is what `ctr images
import` and `podman load` read; `docker_archive` is docker-save's layout,
which docker 20.10's `docker load` needs.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile

APPLETS = ("sh", "true", "false", "echo", "sleep", "cat", "ls", "id", "hostname", "env", "pwd",
           "kill", "ps", "tty", "stty", "wc", "head", "printf", "test", "[")
ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def layer_tar(busybox: str | None = None) -> bytes:
    """A tar of a minimal busybox rootfs, deterministic."""
    busybox = busybox or shutil.which("busybox")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)

        for d in ("bin", "dev", "proc", "sys", "etc", "root", "var", "run"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        with open(busybox, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                           ("etc/group", "root:x:0:\n")):
            raw = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(raw), 0o644
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _config(diff_id: str) -> bytes:
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ENV, "Cmd": ["sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "runsc-py tests"}],
    }).encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def oci_archive(path: str, name: str, busybox: str | None = None) -> str:
    """Write an OCI image-layout tar for `name` (e.g. docker.io/library/bb:latest)."""
    layer = layer_tar(busybox)
    gz = gzip.compress(layer, mtime=0)
    config = _config(_digest(layer))
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _digest(gz), "size": len(gz)}],
    }).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": _digest(manifest), "size": len(manifest),
        "annotations": {"io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]},
    }]}).encode()
    with tarfile.open(path, "w") as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(tar, "index.json", index)
        for blob in (gz, config, manifest):
            _add(tar, "blobs/sha256/" + _digest(blob).split(":")[1], blob)
    return path


def docker_archive(path: str, tag: str, busybox: str | None = None) -> str:
    """Write a docker-save tar (manifest.json + <id>/layer.tar) tagged `tag`."""
    layer = layer_tar(busybox)
    config = _config(_digest(layer))
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_id = hashlib.sha256(layer).hexdigest()
    with tarfile.open(path, "w") as tar:
        _add(tar, config_name, config)
        _add(tar, f"{layer_id}/VERSION", b"1.0")
        _add(tar, f"{layer_id}/json", json.dumps({"id": layer_id}).encode())
        _add(tar, f"{layer_id}/layer.tar", layer)
        _add(tar, "manifest.json", json.dumps([{"Config": config_name, "RepoTags": [tag],
                                                "Layers": [f"{layer_id}/layer.tar"]}]).encode())
    return path

