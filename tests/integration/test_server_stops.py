"""A real server waiting for a client stops on SIGTERM (issue 14's `openssl s_server`).

`runsc-py do` forwards the SIGTERM to the workload's init, here `openssl
s_server` waiting in a parked accept; the signal must end that wait and
kill it (exit 128+15), on both platforms. A fatal signal ended this wait
already before handled signals did (tests/differential/test_net_interrupts.py
holds those); this keeps the whole path, forwarding included. The test
waits for the server's "ACCEPT" line, not for a time.
"""
import shutil
import signal
import subprocess

import pytest

from tests.conftest import RUNSC_PY, finish


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=runsc-py", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return str(d / "cert.pem"), str(d / "key.pem")


def test_openssl_server_stops_on_sigterm(platform, certificate):
    cert, key = certificate
    proc = subprocess.Popen(RUNSC_PY + ["do", f"--platform={platform}", "--", "openssl", "s_server",
                                        "-accept", "127.0.0.1:4433", "-cert", cert, "-key", key],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for line in proc.stdout:
            if line.strip() == b"ACCEPT":
                break
        else:
            pytest.fail("s_server ended before it accepted")
        proc.send_signal(signal.SIGTERM)
    finally:
        finish(proc)
    assert proc.returncode == 128 + signal.SIGTERM
