"""Calls for --inject to fail (tests/integration/test_inject.py).

    python3 inject_probe.py reads|writes|stats|connect SCRATCH

reads: three reads of a file at fd 42; writes: five 4-byte writes to a
file at fd 42; stats: forty stats of "/", one character each ('.' or the
errno); connect: a listener on 5432 and one on 5433, each connected to.
Each prints what every call gave.
"""
import errno
import os
import socket
import sys


def outcome(call) -> str:
    try:
        call()
        return "ok"
    except OSError as exc:
        return errno.errorcode[exc.errno]


def main() -> None:
    mode, scratch = sys.argv[1], sys.argv[2]
    path = os.path.join(scratch, "data")
    if mode == "reads":
        with open(path, "wb") as f:
            f.write(b"0123456789")
        os.dup2(os.open(path, os.O_RDONLY), 42)
        print(" ".join(outcome(lambda: os.read(42, 2)) for _ in range(3)))
    elif mode == "writes":
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644), 42)
        print(" ".join(outcome(lambda: os.write(42, b"abcd")) for _ in range(5)))
    elif mode == "stats":
        print("".join("." if outcome(lambda: os.stat("/")) == "ok" else "x" for _ in range(40)))
    elif mode == "connect":
        listeners = []
        for port in (5432, 5433):
            s = socket.socket()
            s.bind(("127.0.0.1", port))
            s.listen()
            listeners.append(s)
        for port in (5432, 5433):
            print(port, outcome(lambda: socket.create_connection(("127.0.0.1", port)).close()))


if __name__ == "__main__":
    main()
