"""A `runsc-py do` sandbox whose kernel has limits and sysctls set, as an
OCI configuration would set them (the CLI has no flags for them yet).

Run as a script by test_procfs.py: limited_sandbox.py PLATFORM JSON -- ARGV...
where JSON holds "limits" (SandboxLimits fields) and "sysctl".
"""
import json
import os
import sys

from runsc_py import platform
from runsc_py.sandbox.gofer import start_gofer
from runsc_py.sandbox.status import exit_code
from runsc_py.gofer.client import GoferClient
from runsc_py.sentry.kernel import Kernel
from runsc_py.sentry.limits import SandboxLimits
from runsc_py.sentry.mounts import build_vfs
from runsc_py.sentry.vfs import VFS
from runsc_py.syscalls.table import TABLE


def main() -> int:
    plat, config, argv = sys.argv[1], json.loads(sys.argv[2]), sys.argv[4:]
    gofer_pid, sock = start_gofer([("/", True)])
    kernel = Kernel(platform.create(plat), VFS(), TABLE, gofer_socket=sock)
    limits = config.get("limits", {})
    if "cpuset" in limits:
        limits["cpuset"] = tuple(limits["cpuset"])
    kernel.limits = SandboxLimits(**limits)
    kernel.sysctl.update(config.get("sysctl", {}))
    kernel.hostname = config.get("hostname", kernel.hostname)
    build_vfs(GoferClient(sock), kernel)
    status = kernel.run(argv, dict(os.environ), "/")
    os.kill(gofer_pid, 9)
    return exit_code(status)


if __name__ == "__main__":
    sys.exit(main())
