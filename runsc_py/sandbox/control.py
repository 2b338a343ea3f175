"""The sandbox's control socket: how the CLI talks to a running sentry.

One request per connection: a JSON object with "op" (and arguments),
answered by one JSON object with "ok" and either results or "error".
The socket lives in the state directory; its path is reached through
/proc/self/fd of an O_PATH descriptor of that directory, so long
`--root`s (containerd's are) never meet sun_path's 108-byte limit.
"""
from __future__ import annotations

import json
import os
import socket

MAX_MESSAGE = 1 << 20
TIMEOUT = 10.0


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


def request(path: str, op: str, timeout: float = TIMEOUT, **args) -> dict:
    """Ask the sandbox; returns its answer, raises ControlError on failure."""
    directory, name = os.path.split(path)
    short, fd = _short_path(directory, name)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(short)
                sock.sendall(json.dumps({"op": op, **args}).encode())
                sock.shutdown(socket.SHUT_WR)
                reply = _recv_all(sock)
            except (OSError, socket.timeout) as exc:
                raise ControlError(f"the sandbox did not answer {op!r}: "
                                   f"{getattr(exc, 'strerror', None) or exc}") from None
    finally:
        os.close(fd)
    if not reply:
        raise ControlError(f"the sandbox closed the connection during {op!r} (it has exited)")
    answer = json.loads(reply)
    if not answer.get("ok"):
        raise ControlError(answer.get("error", f"{op} failed"))
    return answer


def serve_one(listener: socket.socket, handle) -> None:
    """Accept one connection and answer it with handle(request) -> dict."""
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return
    with conn:
        conn.settimeout(TIMEOUT)
        try:
            req = json.loads(_recv_all(conn) or b"{}")
            try:
                answer = {"ok": True, **handle(req)}
            except Exception as exc:  # noqa: BLE001 - the reason goes back to the CLI
                answer = {"ok": False, "error": str(exc)}
            conn.sendall(json.dumps(answer).encode())
        except (OSError, ValueError, socket.timeout):
            pass


def _recv_all(sock: socket.socket) -> bytes:
    chunks, size = [], 0
    while size < MAX_MESSAGE:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
