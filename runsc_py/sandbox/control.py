"""The sandbox's control socket: how the CLI talks to a running sentry.

One request per connection: a JSON object with "op" (and arguments) on one line,
answered by one JSON object with "ok" and either results or "error".
An `exec` request also carries the new process's stdio (SCM_RIGHTS) and
keeps its connection: the answer is a line `{"ok": true, "pid": N}`, and
a second line `{"exit": CODE}` follows when the process exits. Closing
the connection early kills the process (its waiter was SIGKILLed).
The socket lives in the state directory; its path is reached through
/proc/self/fd of an O_PATH descriptor of that directory, so long
`--root`s (containerd's are) never meet sun_path's 108-byte limit.

json is imported by the functions that use it, not at the top: the
sandbox imports this module to listen before it says "ok", and json with
re would cost ~3 ms of its start-up. A sandbox `run` started needs it only
if asked something later; one `create` made loads it (`preload`) once
create is done, before `runsc-py start` comes.
"""
from __future__ import annotations

import os
import socket

MAX_MESSAGE = 1 << 20
MAX_FDS = 4   # an exec's stdio and its console socket connection
TIMEOUT = 10.0
KEEP = "keep"   # a handler's answer key: the connection is the handler's now


class ControlError(Exception):
    pass


def _short_path(directory: str, name: str) -> tuple[str, int]:
    fd = os.open(directory, os.O_PATH | os.O_CLOEXEC)
    return f"/proc/self/fd/{fd}/{name}", fd


def listen(path: str) -> socket.socket:
    directory, name = os.path.split(path)
    short, fd = _short_path(directory, name)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.bind(short)
    finally:
        os.close(fd)
    sock.listen(8)
    return sock


def connect(path: str, timeout: float | None = TIMEOUT) -> socket.socket:
    directory, name = os.path.split(path)
    short, fd = _short_path(directory, name)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        sock.connect(short)
    except OSError as exc:
        sock.close()
        raise ControlError(f"cannot reach the sandbox: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return sock


def request(path: str, op: str, timeout: float = TIMEOUT, **args) -> dict:
    """Ask the sandbox; returns its answer, raises ControlError on failure."""
    import json

    with connect(path, timeout) as sock:
        try:
            sock.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
            reply = _recv_all(sock)
        except (OSError, socket.timeout) as exc:
            raise ControlError(f"the sandbox did not answer {op!r}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
    return _answer(op, reply)


def open_stream(path: str, op: str, fds: list[int], **args) -> tuple[socket.socket, dict]:
    """Send a request with fds and keep the connection: (socket, first answer)."""
    import json

    sock = connect(path)
    try:
        socket.send_fds(sock, [json.dumps({"op": op, **args}).encode() + b"\n"], fds)
        first = read_line(sock)
    except (OSError, socket.timeout) as exc:
        sock.close()
        raise ControlError(f"the sandbox did not answer {op!r}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        return sock, _answer(op, first)
    except ControlError:
        sock.close()
        raise


def read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def _answer(op: str, reply: bytes) -> dict:
    import json

    if not reply:
        raise ControlError(f"the sandbox closed the connection during {op!r} (it has exited)")
    answer = json.loads(reply)
    if not answer.get("ok"):
        raise ControlError(answer.get("error", f"{op} failed"))
    return answer


def preload() -> None:
    """Import what serving a request needs, while no one is waiting for an answer."""
    import json  # noqa: F401


def serve_one(listener: socket.socket, handle) -> None:
    """Accept one connection and answer it with handle(request, fds, conn) -> dict.

    A handler that returns {KEEP: True, ...} keeps the connection (and
    answers it itself); the received fds are the handler's to close."""
    import json

    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return
    keep = False
    try:
        conn.settimeout(TIMEOUT)
        data, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, MAX_FDS)
        while data and not data.endswith(b"\n") and len(data) < MAX_MESSAGE:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        req = json.loads(data or b"{}")
        try:
            answer = {"ok": True, **handle(req, fds, conn)}
            keep = bool(answer.pop(KEEP, False))
        except Exception as exc:  # noqa: BLE001 - the reason goes back to the CLI
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            answer = {"ok": False, "error": why}   # (the handler closed the fds)
        send_line(conn, answer)
    except (OSError, ValueError, socket.timeout):
        keep = False
    finally:
        if not keep:
            conn.close()


def send_line(conn: socket.socket, message: dict) -> None:
    """One line of the protocol: an answer, or an exec's exit status."""
    import json

    conn.sendall(json.dumps(message).encode() + b"\n")


def _recv_all(sock: socket.socket) -> bytes:
    chunks, size = [], 0
    while size < MAX_MESSAGE:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
