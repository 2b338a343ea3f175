"""The caller's stdio reaches the workload as the same open file descriptions.

gVisor keeps its own offset per donated fd, so `cmd >f 2>&1` loses lines
there: stdout and stderr overwrite each other. Here all three stay, in order.
"""
import subprocess

from tests.conftest import RUNSC_PY


def test_shared_offset_keeps_every_line(platform, busybox, tmp_path):
    out = tmp_path / "f"
    with open(out, "wb") as f:
        proc = subprocess.run(
            RUNSC_PY + ["do", f"--platform={platform}", "--", busybox, "sh", "-c",
                        "echo out; echo err >&2; echo out2"],
            stdout=f, stderr=subprocess.STDOUT, timeout=60)
    assert proc.returncode == 0
    assert out.read_bytes() == b"out\nerr\nout2\n"


def test_stdin_passes_through(platform, busybox):
    proc = subprocess.run(RUNSC_PY + ["do", f"--platform={platform}", "--", busybox, "sh", "-c",
                                      "read a; read b; echo $b $a"],
                          input=b"first\nsecond\n", capture_output=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, b"second first\n")
