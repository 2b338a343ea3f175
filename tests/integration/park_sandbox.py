"""A sandbox whose table parks syscall 1000 until syscall 1001 releases it.

Run as a script by test_parking.py (it takes over its process as a sentry).
"""
import os
import sys

from runsc_py import platform
from runsc_py.sandbox.gofer import start_gofer
from runsc_py.sandbox.status import exit_code
from runsc_py.sentry.mounts import build_vfs
from runsc_py.gofer.client import GoferClient
from runsc_py.platform import HELD
from runsc_py.sentry.kernel import Kernel
from runsc_py.sentry.vfs import VFS
from runsc_py.syscalls.table import ROWS, SyscallTable, emulated

waiting = []


def park(ctx):
    waiting.append(ctx.call)
    return HELD


def release(ctx):
    for call in waiting:
        ctx.kernel.platform.complete(call, 42)
    waiting.clear()
    return 7


def main() -> int:
    plat, program = sys.argv[1], sys.argv[2]
    gofer_pid, sock = start_gofer([("/", True)])
    table = SyscallTable(ROWS + [emulated(1000, park), emulated(1001, release)])
    kernel = Kernel(platform.create(plat), VFS(), table, gofer_socket=sock)
    build_vfs(GoferClient(sock), kernel)
    status = kernel.run([program], dict(os.environ), "/")
    os.kill(gofer_pid, 9)
    return exit_code(status)


if __name__ == "__main__":
    sys.exit(main())
