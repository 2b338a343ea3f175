"""The data path of a sandbox connection is native; addresses are the sentry's.

--strace logs every call that reaches the sentry, so a send/recv without
an address (sendto/recvfrom with NULL) must not appear, and one with an
address must.
"""
import sys
import textwrap

from tests.conftest import sandboxed

PROGRAM = textwrap.dedent("""
    import socket
    a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.connect(a.getsockname())
    b.send(b"no address")              # sendto(fd, buf, n, 0, NULL, 0)
    print(a.recv(100))                 # recvfrom(fd, buf, n, 0, NULL, NULL)
    b.sendto(b"addressed", a.getsockname())
    print(a.recvfrom(100)[0])
""")


def _calls(log: str, name: str) -> list[str]:
    return [line for line in log.splitlines() if f"] {name}(" in line]


def test_send_and_recv_without_address_are_native(platform, tmp_path):
    log = tmp_path / "strace.log"
    r = sandboxed(platform, sys.executable, "-c", PROGRAM, flags=("--strace", f"--strace-log={log}"))
    assert r.out == b"b'no address'\nb'addressed'\n", r
    text = log.read_text()
    assert len(_calls(text, "sendto")) == 1, text    # only the addressed one
    assert len(_calls(text, "recvfrom")) == 1, text
