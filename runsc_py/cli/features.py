"""`runsc-py features`: what this runtime honours (runtime-spec features.md)."""
from __future__ import annotations

import json
import signal

from runsc_py.oci.seccomp import NATIVE_ARCHES, OPS
from runsc_py.oci.spec import HOOK_KINDS, OWN_NAMESPACES


def features(spec_version: str) -> dict:
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": spec_version,
        "hooks": list(HOOK_KINDS),
        "mountOptions": ["ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind"],
        "linux": {
            "namespaces": sorted(OWN_NAMESPACES),
            "capabilities": [],
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": True,
                        "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_LOG", "SCMP_ACT_TRAP"],
                        "operators": sorted(OPS), "archs": sorted(NATIVE_ARCHES)},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"io.github.runsc-py.signals": str(int(signal.NSIG - 1))},
    }


def run_features(args, log) -> int:
    from runsc_py.cli.main import OCI_SPEC_VERSION

    print(json.dumps(features(OCI_SPEC_VERSION), indent=2))
    return 0
