"""chroot(2) in the sandbox: the process's root is the sentry's, as Linux keeps it.

The same script natively (as root, in a scratch tree) and sandboxed:
absolute paths and symlinks resolve in the new root, ".." stops there,
getcwd is relative to it, and a child inherits it. The classic escape
(an fd to a directory outside, fchdir, ".." and chroot(".")) works as on
Linux, but only ever reaches the sandbox's own root.
"""
import sys

from tests.conftest import run, sandboxed

SCRIPT = r"""
import os, sys
top = sys.argv[1]
os.makedirs(f"{top}/jail/etc"); os.makedirs(f"{top}/jail/sub")
open(f"{top}/jail/etc/marker", "w").write("inside\n")
os.symlink("/etc/marker", f"{top}/jail/abs")
outside = os.open(top, os.O_RDONLY)
os.chroot(f"{top}/jail"); os.chdir("/")
print(open("/etc/marker").read().strip(), open("/abs").read().strip(), open("/../../etc/marker").read().strip())
os.chdir("/sub"); print(os.getcwd(), sorted(os.listdir("/")))
pid = os.fork()
if pid == 0:
    print("child sees", sorted(os.listdir("/"))); sys.stdout.flush(); os._exit(0)
os.waitpid(pid, 0)
os.fchdir(outside)
try: os.getcwd()
except FileNotFoundError: print("cwd unreachable")  # glibc's answer to the kernel's "(unreachable)"
for _ in range(64): os.chdir("..")
os.chroot("."); print(os.path.exists("/etc/passwd"), os.getcwd())
"""


def test_chroot_matches_linux(platform, tmp_path):
    native_dir, sandbox_dir = tmp_path / "n", tmp_path / "s"
    native_dir.mkdir()
    sandbox_dir.mkdir()
    native = run([sys.executable, "-c", SCRIPT, str(native_dir)])
    inside = sandboxed(platform, sys.executable, "-c", SCRIPT, str(sandbox_dir))
    assert native.code == 0, native
    assert (inside.code, inside.out) == (0, native.out), (native, inside)
