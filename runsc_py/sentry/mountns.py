"""Mount namespaces: the table of mounts one namespace sees.

Every process has a mount namespace (`Process.mntns`; None is the
sandbox's first, `VFS.initial`), and the VFS resolves a call's paths in
its caller's (`VFS.use`). A namespace maps canonical mount points to
Mounts; `mount_of` and `is_mountpoint` are what a walk asks of it, a few
dict probes per name.

unshare(CLONE_NEWNS) gives the caller a copy (`copy`): each Mount is
copied, with its own read-only flag, options and propagation, but keeps
its filesystem, st_dev and id, so a file is the same file in both (inotify
watches and unix socket names key on the id), as Linux's copies share
their superblocks and a change to one tree's files shows in the other.

Mounting over a mount point, or over a directory with mounts beneath it,
hides those (`Mount.covered`) until the new mount goes, as Linux's
stacking does. The changes mount(2) and umount2(2) make are in
sentry/mounting.py.
"""
from __future__ import annotations

from runsc_py.sentry.tasks import new_namespace_inum


class MountNamespace:
    def __init__(self):
        self.mounts: dict = {}      # canonical mount point -> Mount
        # the same mounts keyed by their names, and the depths at which there
        # are mount points (deepest first): resolution asks "is this a mount
        # point?" for every name, so each question is a few dict probes
        self.by_names: dict[tuple[str, ...], object] = {}
        self.depths: set[int] = set()
        self.depths_desc: list[int] = []
        self.expiring: set[int] = set()   # ids umount2(MNT_EXPIRE) has marked once
        self.inum = new_namespace_inum()  # its /proc/<pid>/ns/mnt number

    def add(self, mount) -> None:
        """Put `mount` in the table, over what is at its mount point or beneath it."""
        hidden = [m for m in self.mounts.values()
                  if m.mountpoint == mount.mountpoint or beneath(m.mountpoint, mount.mountpoint)]
        for m in hidden:
            self._drop(m)
        mount.covered = hidden
        self._put(mount)

    def remove(self, mount) -> None:
        """Take `mount` out with everything mounted beneath it; what it covered shows again."""
        for m in self.beneath(mount.mountpoint):
            self._drop(m)
        self._drop(mount)
        for m in mount.covered:
            self._put(m)
        mount.covered = []

    def beneath(self, path: str) -> list:
        """The mounts strictly beneath the directory `path`, shallowest first."""
        found = [m for m in self.mounts.values() if beneath(m.mountpoint, path)]
        return sorted(found, key=lambda m: (m.mountpoint.count("/"), m.mount_id))

    def copy(self) -> "MountNamespace":
        """A new namespace holding a copy of each mount (unshare(CLONE_NEWNS))."""
        new = MountNamespace()
        for mount in sorted(self.mounts.values(), key=lambda m: m.mount_id):
            new._put(mount.copy())
        return new

    def mount_of(self, names: list[str]):
        """The mount holding the canonical path `names`, and the path within it."""
        count = len(names)
        for depth in self.depths_desc:
            if depth <= count:
                m = self.by_names.get(tuple(names[:depth]))
                if m is not None:
                    return m, "/".join(names[depth:])
        raise AssertionError("no root mount")

    def is_mountpoint(self, names: list[str]) -> bool:
        return len(names) in self.depths and tuple(names) in self.by_names

    def _put(self, mount) -> None:
        self.mounts[mount.mountpoint] = mount
        self.by_names[tuple(split(mount.mountpoint))] = mount
        self._reindex()

    def _drop(self, mount) -> None:
        del self.mounts[mount.mountpoint]
        del self.by_names[tuple(split(mount.mountpoint))]
        self.expiring.discard(mount.mount_id)
        self._reindex()

    def _reindex(self) -> None:
        self.depths = {len(n) for n in self.by_names if n}
        self.depths_desc = sorted({len(n) for n in self.by_names}, reverse=True)


def beneath(path: str, directory: str) -> bool:
    """Whether the canonical `path` is strictly beneath `directory`."""
    if directory == "/":
        return path != "/"
    return path.startswith(directory + "/")


def split(path: str) -> list[str]:
    return [n for n in path.split("/") if n]
