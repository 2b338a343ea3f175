"""The VFS: the mount table and the one place guest paths are resolved.

A Filesystem implements `lookup(path, open_flags)` for paths *within* it
(names joined by "/", never "." or ".."); the VFS never asks which
filesystem it is talking to. resolve_path() walks a guest path:

- "." is skipped, ".." pops a name (at "/" it stays at "/"), lexically,
  which is exact because every prefix already walked is a real directory
  with no symlink in it;
- names are sent to the filesystem of the mount they fall in, in batches
  that stop at a mount point or a "..";
- a symlink the filesystem reports is spliced into the rest of the path
  (absolute targets restart at "/"), at most 40 times (ELOOP), so a link
  may lead into another mount, as on Linux.
"""
from __future__ import annotations

import dataclasses
import errno
import os
import stat as statmod
import typing

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat

PATH_MAX = 4096
NAME_MAX = 255
MAXSYMLINKS = 40


class Lookup(typing.NamedTuple):
    """A filesystem's answer to a walk.

    found:   stat is set; target is the link text when the file is a symlink;
             fd is the opened host fd when open_flags was given (and not a symlink)
    symlink: a symlink was met after `consumed` names, not at the end

    jump: set on a *magic link* (procfs's fd/N): followed as the last name,
          the link is not walked by its text; jump(open_flags) returns the
          Resolved file it names (opened when open_flags >= 0), as Linux's
          nd_jump_link does. In the middle of a path its text is walked.
    """

    kind: str
    stat: Stat | None = None
    target: str | None = None
    fd: int | None = None
    consumed: int = 0
    jump: typing.Callable[[int], "Resolved"] | None = None


class Filesystem(typing.Protocol):
    readonly: bool
    fstype: str       # as /proc/mounts names it: "tmpfs", "proc", "overlay", ...

    def lookup(self, path: str, open_flags: int = -1) -> Lookup: ...

    def readdir(self, path: str) -> list[tuple[int, int, bytes]]: ...


@dataclasses.dataclass
class Mount:
    """One entry of the mount table; /proc/<pid>/mounts and mountinfo render these."""

    mountpoint: str   # canonical guest path
    fs: Filesystem
    readonly: bool
    dev: int          # the st_dev the workload sees for files of this mount
    mount_id: int     # mountinfo's first field
    source: str = "none"                   # mounts' first field ("none", a bind's source)
    options: frozenset[str] = frozenset()  # of "nosuid", "nodev", "noexec"

    @property
    def fstype(self) -> str:
        return self.fs.fstype


@dataclasses.dataclass
class Resolved:
    path: str         # canonical guest path of the result
    mount: Mount
    rel: str          # path within the mount
    stat: Stat
    target: str | None = None  # link text, when the result is an unfollowed symlink
    fd: int | None = None      # host fd, when resolve_path was asked to open


class VFS:
    def __init__(self):
        self.mounts: dict[str, Mount] = {}
        # the same mounts keyed by their names, deepest first, and the set of
        # their depths: resolution asks "is this a mount point?" for every name
        self._by_names: list[tuple[tuple[str, ...], Mount]] = []
        self._depths: set[int] = set()
        self._next_id = 0

    def mount(self, mountpoint: str, fs: Filesystem, readonly: bool = False, *,
              source: str = "none", options: frozenset[str] = frozenset()) -> Mount:
        self._next_id += 1
        m = Mount(mountpoint, fs, readonly, dev=0x100 + self._next_id, mount_id=self._next_id,
                  source=source, options=options)
        self.mounts[mountpoint] = m
        names = tuple(_split(mountpoint))
        self._by_names = sorted([(n, x) for n, x in self._by_names if n != names] + [(names, m)],
                                key=lambda item: -len(item[0]))
        self._depths = {len(n) for n, _ in self._by_names if n}
        return m

    def mount_of(self, names: list[str]) -> tuple[Mount, str]:
        """The mount holding the canonical path `names`, and the path within it."""
        for mp, m in self._by_names:
            if len(mp) <= len(names) and tuple(names[: len(mp)]) == mp:
                return m, "/".join(names[len(mp):])
        raise AssertionError("no root mount")

    def resolve(self, base: str, path: str, follow: bool = True,
                open_flags: int = -1) -> Resolved:
        """Resolve guest `path` relative to the directory `base`.

        follow: whether a symlink as the last name is followed (a trailing
        slash always follows). open_flags >= 0 also opens the result.
        """
        if path == "":
            raise SyscallError(errno.ENOENT)
        if len(path) >= PATH_MAX:
            raise SyscallError(errno.ENAMETOOLONG)
        must_be_dir = path.endswith("/")
        follow = follow or must_be_dir
        cur = [] if path.startswith("/") else _split(base)
        todo = _split(path)
        links = 0
        last: Lookup | None = None
        while todo:
            name = todo.pop(0)
            if name == ".":
                continue
            if name == "..":
                if cur:
                    cur.pop()
                last = None
                continue
            batch = [name]
            depth = len(cur) + 1
            while todo and todo[0] not in (".", "..") and not (
                    depth + 1 in self._depths and self._is_mountpoint(cur + batch + todo[:1])):
                batch.append(todo.pop(0))
                depth += 1
            if any(len(n) > NAME_MAX for n in batch):
                raise SyscallError(errno.ENAMETOOLONG)
            mount, rel = self.mount_of(cur + batch)
            is_last = not todo
            want_open = open_flags if is_last and not must_be_dir else -1
            res = mount.fs.lookup(rel, want_open)
            if res.jump is not None and is_last and follow and not must_be_dir:
                if res.fd is not None:  # the link's own placeholder: not what is opened
                    os.close(res.fd)
                return res.jump(open_flags)
            if res.kind == "found" and (res.target is None or (is_last and not follow)):
                cur += batch
                last = res
                if todo and not statmod.S_ISDIR(res.stat.mode):
                    raise SyscallError(errno.ENOTDIR)
                continue
            # a symlink: in the middle of the batch, or its end that we follow
            links += 1
            if links > MAXSYMLINKS:
                raise SyscallError(errno.ELOOP)
            if res.kind == "symlink":  # counted within the mount: the batch may start above it
                consumed = len(batch) - len(_split(rel)) + res.consumed
            else:
                consumed = len(batch)
            target = res.target
            todo = _split(target) + batch[consumed:] + todo
            if target.startswith("/"):
                cur = []
            else:
                cur += batch[: consumed - 1]
            last = None
        mount, rel = self.mount_of(cur)
        if last is None:
            last = mount.fs.lookup(rel, open_flags if not must_be_dir else -1)
            if last.kind != "found":  # the root of a mount cannot be a link
                raise SyscallError(errno.ELOOP)
        if must_be_dir and not statmod.S_ISDIR(last.stat.mode):
            raise SyscallError(errno.ENOTDIR)
        fd = last.fd
        if must_be_dir and open_flags >= 0:
            fd = mount.fs.lookup(rel, open_flags).fd
        return Resolved("/" + "/".join(cur), mount, rel, last.stat.with_dev(mount.dev),
                        last.target, fd)

    def _is_mountpoint(self, names: list[str]) -> bool:
        if len(names) not in self._depths:
            return False
        return any(mp == tuple(names) for mp, _m in self._by_names)


def _split(path: str) -> list[str]:
    return [n for n in path.split("/") if n]


def join(base: str, path: str) -> str:
    """Lexical join of a guest path onto a directory, for display and /proc."""
    return path if path.startswith("/") else (base.rstrip("/") + "/" + path)
