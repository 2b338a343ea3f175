"""process.capabilities and process.user reach the container's init as its credentials."""


def _cap_lines(out: str) -> dict[str, str]:
    return dict(line.split(":\t") for line in out.splitlines() if line.startswith("Cap"))


def _caps_of_init(bundle, no_new_privileges: bool) -> tuple[dict[str, str], str]:
    doc = bundle.config(["cat", "/proc/self/status"])
    doc["process"]["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"],
        "inheritable": [], "ambient": []}
    doc["process"]["noNewPrivileges"] = no_new_privileges
    bundle.config(**{"process": doc["process"]})
    proc = bundle.cli("run", "--bundle", str(bundle.path), "caps")
    return _cap_lines(proc.stdout), proc.stdout


BOUNDING = f"{(1 << 0) | (1 << 5) | (1 << 10):016x}"  # CHOWN, KILL, NET_BIND_SERVICE
PERMITTED = f"{(1 << 0) | (1 << 5):016x}"             # CHOWN, KILL


def test_capability_sets_from_the_config(bundle):
    caps, out = _caps_of_init(bundle, no_new_privileges=False)
    assert caps["CapBnd"] == BOUNDING, out
    # root's exec makes permitted (and effective) the bounding set, as in a docker container
    assert caps["CapEff"] == caps["CapPrm"] == BOUNDING, out


def test_no_new_privileges_keeps_root_from_gaining_capabilities_at_exec(bundle):
    # Linux (cap_bprm_creds_from_file): under no_new_privs an exec gains
    # nothing, so root's permitted set stays the configured one (runc's too)
    caps, out = _caps_of_init(bundle, no_new_privileges=True)
    assert caps["CapBnd"] == BOUNDING, out
    assert caps["CapEff"] == caps["CapPrm"] == PERMITTED, out


def test_user_and_empty_capability_sets(bundle):
    doc = bundle.config(["sh", "-c", "id -u; id -g; grep ^CapEff /proc/self/status"])
    doc["process"]["user"] = {"uid": 1000, "gid": 1000}
    doc["process"]["capabilities"] = {"bounding": [], "effective": [], "permitted": [],
                                      "inheritable": [], "ambient": []}
    bundle.config(**{"process": doc["process"]})
    proc = bundle.cli("run", "--bundle", str(bundle.path), "user")
    assert proc.stdout.split() == ["1000", "1000", "CapEff:", "0" * 16], proc.stdout

