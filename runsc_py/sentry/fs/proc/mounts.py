"""/proc/<pid>/mounts and mountinfo, rendered from the sentry's mount table.

The table is a mount namespace's (sentry/mountns.py); a mount's parent is
the mount holding its mountpoint's parent directory, and the root mount is
its own parent (as a chroot's root shows in Linux's mountinfo). Lines come
in mount order (mount_id). Formats: fs/proc_namespace.c.

A mount's source is shown as configured unless it is a host path outside
the sandbox's root (a bind mount's source in a container): that shows as
"none", as nothing of the host's tree may be named inside.
"""
from __future__ import annotations

import os

from runsc_py.sentry.fs import hostinfo

OPTION_ORDER = ("nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime",
                "strictatime")
ATIME_RULES = frozenset({"noatime", "relatime", "strictatime"})


def render_mounts(ns, host_root: str = "/") -> bytes:
    """`source mountpoint fstype options 0 0` per mount (/proc/mounts)."""
    lines = [f"{_source(m, host_root)} {_escape(m.mountpoint)} {m.fstype} {_options(m)} 0 0\n"
             for m in _ordered(ns)]
    return "".join(lines).encode()


def render_mountinfo(ns, host_root: str = "/") -> bytes:
    """`id parent major:minor root mountpoint options - fstype source superoptions`."""
    lines = []
    for m in _ordered(ns):
        parent = _parent(ns, m)
        dev = f"{os.major(m.dev)}:{os.minor(m.dev)}"
        super_opts = "ro" if m.readonly else "rw"
        lines.append(f"{m.mount_id} {parent.mount_id} {dev} {_escape(m.root)} {_escape(m.mountpoint)} "
                     f"{_options(m)}{_optional_fields(m)} - {m.fstype} {_source(m, host_root)} "
                     f"{super_opts}\n")
    return "".join(lines).encode()


def _optional_fields(mount) -> str:
    """mountinfo's optional fields (fs/proc_namespace.c, show_mountinfo): a
    shared mount's peer group, a slave's master's, "unbindable". Each
    shared or slave mount is a group of its own, numbered by its id."""
    if mount.propagation == "shared":
        return f" shared:{mount.mount_id}"
    if mount.propagation == "slave":
        return f" master:{mount.mount_id}"
    return " unbindable" if mount.propagation == "unbindable" else ""


def _source(mount, host_root: str) -> str:
    if not mount.source.startswith("/"):
        return _escape(mount.source)
    inside = hostinfo.to_guest(mount.source, [(host_root, "/")])
    return _escape(inside) if inside is not None else "none"


def _ordered(ns) -> list:
    return sorted(ns.mounts.values(), key=lambda m: m.mount_id)


def _parent(ns, mount):
    names = [n for n in mount.mountpoint.split("/") if n]
    if not names:
        return mount
    return ns.mount_of(names[:-1])[0]


def _options(mount) -> str:
    opts = ["ro" if mount.readonly else "rw"]
    opts += [o for o in OPTION_ORDER if o in mount.options]
    opts += sorted(o for o in mount.options if o not in OPTION_ORDER)
    if not ATIME_RULES & mount.options:
        opts.append("relatime")   # the default
    return ",".join(opts)


def _escape(text: str) -> str:
    """Linux's mangle(): space, tab, newline and backslash as octal escapes."""
    for ch in "\\ \t\n":
        text = text.replace(ch, f"\\{ord(ch):03o}")
    return text
