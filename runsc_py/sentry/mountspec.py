"""One configured mount: an OCI `mounts` entry, or `do`'s --volume/--tmpfs.

Kept apart from sentry/mounts.py (which turns these into the sandbox's
mount table) so that reading a config.json does not load the filesystems:
`runsc-py start` and `delete` parse the spec too.
"""
from __future__ import annotations

import collections
import os

FLAG_OPTIONS = ("nosuid", "nodev", "noexec")
# A propagation option (of a mount, or linux.rootfsPropagation) -> how
# mountinfo shows the mount: a peer group ("shared"), a master's ("slave"),
# "unbindable", or nothing (private). The "r" forms reach submounts too.
PROPAGATION = {"shared": "shared", "rshared": "shared", "slave": "slave", "rslave": "slave",
               "private": None, "rprivate": None, "unbindable": "unbindable",
               "runbindable": "unbindable"}
KINDS = ("bind", "tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2")


class MountError(ValueError):
    """A configured mount the sandbox cannot honour; the message says which and why."""


class MountSpec(collections.namedtuple(
        "MountSpec",
        "destination type source options",
        defaults=("none", "", ()))):
    """One OCI `mounts` entry."""

    __slots__ = ()
    # fields:
    # destination: str
    # type: str = "none"
    # source: str = ""
    # options: tuple[str, ...] = ()

    @property
    def is_bind(self) -> bool:
        return self.type == "bind" or "bind" in self.options or "rbind" in self.options

    @property
    def kind(self) -> str:
        return "bind" if self.is_bind else self.type

    @property
    def readonly(self) -> bool:
        return "ro" in self.options

    @property
    def flags(self) -> frozenset[str]:
        return frozenset(o for o in self.options if o in FLAG_OPTIONS)

    @property
    def propagation(self) -> str | None:
        """The last propagation option's kind (runc applies them in order), or
        "unset" when none is given."""
        given = [PROPAGATION[o] for o in self.options if o in PROPAGATION]
        return given[-1] if given else "unset"

    def check(self) -> None:
        if not self.destination.startswith("/"):
            raise MountError(f"mount destination {self.destination!r} is not an absolute path")
        if self.kind not in KINDS:
            raise MountError(f"mount {self.destination}: type {self.type!r} is not supported "
                             f"(supported: {', '.join(KINDS)})")
        if self.is_bind and not os.path.exists(self.source):
            raise MountError(f"bind mount {self.destination}: source {self.source!r} does not exist")
