"""`--log`/`--log-format`: logrus-style lines, as containerd's shim reads them.

The shim reports the last `"level":"error"` line of the log as the reason
an OCI call failed, so every failure is logged once, in words a user can
act on. Errors also go to stderr for people at a terminal.
"""
from __future__ import annotations

import contextlib
import os
import sys

LEVELS = ("debug", "info", "warning", "error")


class Log:
    def __init__(self, path: str | None = None, fmt: str = "text", debug: bool = False):
        self.path = path
        self.fmt = fmt
        self.debug_enabled = debug
        self._dir: int | None = None

    def hold(self) -> None:
        """Keep the log's directory open, so lines are still written once this
        process sees the host's tree read-only (the confined sentry): a
        detached bind mount of it alone, whose ".." climbs nowhere."""
        if self.path and self._dir is None:
            from runsc_py import hostcalls

            with contextlib.suppress(OSError):   # no directory: lines are lost, as before
                self._dir = hostcalls.hold_directory(os.path.dirname(os.path.abspath(self.path)))

    def line(self, level: str, msg: str) -> str:
        import datetime   # here: most runs log nothing
        import json

        now = datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")
        if self.fmt == "json":
            return json.dumps({"level": level, "msg": msg, "time": now}) + "\n"
        return f'time="{now}" level={level} msg={json.dumps(msg)}\n'

    def write(self, level: str, msg: str) -> None:
        if level == "debug" and not self.debug_enabled:
            return
        if self.path:
            try:
                name = os.path.basename(self.path) if self._dir is not None else self.path
                fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644,
                             dir_fd=self._dir)
                try:
                    os.write(fd, self.line(level, msg).encode())
                finally:
                    os.close(fd)
            except OSError:
                pass
        if level == "error" or (level == "warning" and not self.path):
            sys.stderr.write(f"runsc-py: {msg}\n")

    def debug(self, msg: str) -> None:
        self.write("debug", msg)

    def info(self, msg: str) -> None:
        self.write("info", msg)

    def warning(self, msg: str) -> None:
        self.write("warning", msg)

    def error(self, msg: str) -> None:
        self.write("error", msg)
