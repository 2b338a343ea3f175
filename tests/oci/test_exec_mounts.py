"""Exec on a noexec mount is refused (EACCES), the program's or a `#!` interpreter's.

Sandbox-only (this host has no noexec mount to compare with): the
container's config mounts tmpfs with and without noexec, and the workload
copies busybox onto each. (Set-id bits and nosuid: tests/differential/
test_identities.py; busybox drops set-uid privileges itself.)
"""
import pytest

SCRIPT = """
cp /bin/busybox /plain/busybox; cp /bin/busybox /noexec/busybox
/plain/busybox echo plain runs
/noexec/busybox echo noexec runs; echo "noexec: status $?"
printf '#!/noexec/busybox sh\\necho script\\n' > /plain/script; chmod 755 /plain/script
/plain/script; echo "interpreter on noexec: status $?"
"""


@pytest.mark.parametrize("platform", ["seccomp", "ptrace"])
def test_noexec_mounts(bundle, platform):
    doc = bundle.config(["sh", "-c", SCRIPT])
    doc["mounts"] += [
        {"destination": "/plain", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]},
        {"destination": "/noexec", "type": "tmpfs", "source": "tmpfs",
         "options": ["noexec", "mode=755"]},
    ]
    bundle.config(mounts=doc["mounts"])
    proc = bundle.cli(f"--platform={platform}", "run", "--bundle", str(bundle.path), "mounts")
    lines = proc.stdout.splitlines()
    assert "plain runs" in lines, proc.stdout
    assert "noexec runs" not in lines and "noexec: status 126" in lines, proc.stdout
    assert "script" not in lines and "interpreter on noexec: status 126" in lines, proc.stdout
