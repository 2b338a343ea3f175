"""process.capabilities and process.user reach the container's init as its credentials."""


def _cap_lines(out: str) -> dict[str, str]:
    return dict(line.split(":\t") for line in out.splitlines() if line.startswith("Cap"))


def test_capability_sets_from_the_config(bundle):
    doc = bundle.config(["cat", "/proc/self/status"])
    doc["process"]["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"],
        "inheritable": [], "ambient": []}
    bundle.config(**{"process": doc["process"]})
    proc = bundle.cli("run", "--bundle", str(bundle.path), "caps")
    caps = _cap_lines(proc.stdout)
    bounding = f"{(1 << 0) | (1 << 5) | (1 << 10):016x}"  # CHOWN, KILL, NET_BIND_SERVICE
    assert caps["CapBnd"] == bounding, proc.stdout
    # root's exec makes permitted (and effective) the bounding set, as in a docker container
    assert caps["CapEff"] == caps["CapPrm"] == bounding, proc.stdout


def test_user_and_empty_capability_sets(bundle):
    doc = bundle.config(["sh", "-c", "id -u; id -g; grep ^CapEff /proc/self/status"])
    doc["process"]["user"] = {"uid": 1000, "gid": 1000}
    doc["process"]["capabilities"] = {"bounding": [], "effective": [], "permitted": [],
                                      "inheritable": [], "ambient": []}
    bundle.config(**{"process": doc["process"]})
    proc = bundle.cli("run", "--bundle", str(bundle.path), "user")
    assert proc.stdout.split() == ["1000", "1000", "CapEff:", "0" * 16], proc.stdout

