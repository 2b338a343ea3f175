"""Landlock for the gofer: file access only beneath the trees it serves.

The gofer's seccomp allow-list says *which* calls it may make, but not
with which paths: openat2 without RESOLVE_IN_ROOT, an absolute path or a
".." from a bind source's fd would reach any host file. A Landlock ruleset
closes that: after restrict_self, every open, create, remove and rename
outside the roots fails with EACCES, whatever the call's arguments.
Read-only roots get only the rights to read.
"""
from __future__ import annotations

import os
import stat as statmod

from runsc_py import hostcalls

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
READ = READ_FILE | READ_DIR
WRITE = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO
         | MAKE_SYM | REFER | TRUNCATE)
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # what a rule on a file may hold


def abi() -> int:
    """The host's Landlock ABI version; 0 when Landlock is not there."""
    return hostcalls.landlock_abi()


def handled_rights(version: int) -> int:
    rights = READ | WRITE | EXECUTE | MAKE_CHAR | MAKE_BLOCK
    if version < 2:
        rights &= ~REFER
    if version < 3:
        rights &= ~TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict_to(roots: list[tuple[int, bool]]) -> bool:
    """Allow file access only beneath each (fd, readonly) root; False if Landlock is absent."""
    version = abi()
    if version == 0:
        return False
    handled = handled_rights(version)
    ruleset = hostcalls.landlock_create_ruleset(handled)   # filesystem rights only
    try:
        for fd, readonly in roots:
            rights = (READ if readonly else READ | WRITE) & handled
            if not statmod.S_ISDIR(os.fstat(fd).st_mode):
                rights &= FILE_RIGHTS
            hostcalls.landlock_add_path_rule(ruleset, rights, fd)
        hostcalls.landlock_restrict_self(ruleset)
    finally:
        os.close(ruleset)
    return True
