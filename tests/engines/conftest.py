"""Engines started by the tests, each in its own temporary directory."""
from __future__ import annotations

import pytest

from tests.engines import daemons, images


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("containerd")
    leftovers = daemons.Leftovers()
    engine = daemons.Containerd(tmp)
    try:
        engine.start()
    except daemons.EngineUnavailable as exc:
        engine.stop()
        pytest.skip(f"containerd cannot start here: {exc}")
    engine.runtime = daemons.runtime_wrapper(tmp)
    engine.image = "docker.io/library/runsc-py-busybox:latest"
    engine.ctr("images", "import", images.oci_archive(str(tmp / "image.tar"), engine.image))
    yield engine
    try:
        for task in engine.ctr("tasks", "ls", "-q", check=False).stdout.split():
            engine.ctr("tasks", "kill", "-s", "SIGKILL", task, check=False)
            engine.ctr("tasks", "delete", "-f", task, check=False)
        for container in engine.ctr("containers", "ls", "-q", check=False).stdout.split():
            engine.ctr("containers", "delete", container, check=False)
    finally:
        engine.stop()
        leftovers.clean()


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dockerd")
    leftovers = daemons.Leftovers()
    engine = daemons.Dockerd(tmp, daemons.runtime_wrapper(tmp))
    try:
        engine.start()
    except daemons.EngineUnavailable as exc:
        engine.stop()
        pytest.skip(f"dockerd cannot start here: {exc}")
    engine.image = "runsc-py-busybox:latest"
    engine.docker("load", "-i", images.docker_archive(str(tmp / "image.tar"), engine.image))
    yield engine
    try:
        ids = engine.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            engine.docker("rm", "-f", *ids, check=False)
    finally:
        engine.stop()
        leftovers.clean()


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("podman")
    leftovers = daemons.Leftovers()
    engine = daemons.Podman(tmp, daemons.runtime_wrapper(tmp))
    try:
        engine.start()
    except daemons.EngineUnavailable as exc:
        pytest.skip(f"podman cannot start here: {exc}")
    engine.image = "localhost/runsc-py-busybox:latest"
    engine.podman("load", "-i", images.oci_archive(str(tmp / "image.tar"), engine.image))
    yield engine
    try:
        engine.stop()
    finally:
        leftovers.clean()
