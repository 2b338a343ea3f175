"""Landlock for the gofer: file access only beneath the trees it serves.

The gofer's seccomp allow-list says *which* calls it may make, but not
with which paths: openat2 without RESOLVE_IN_ROOT, an absolute path or a
".." from a bind source's fd would reach any host file. A Landlock ruleset
closes that: after restrict_self, every open, create, remove and rename
outside the roots fails with EACCES, whatever the call's arguments.
Read-only roots get only the rights to read.
"""
from __future__ import annotations

import ctypes
import os
import stat as statmod

from runsc_py.hostcalls import syscall

NR_CREATE_RULESET, NR_ADD_RULE, NR_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
READ = READ_FILE | READ_DIR
WRITE = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO
         | MAKE_SYM | REFER | TRUNCATE)
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # what a rule on a file may hold

class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi() -> int:
    """The host's Landlock ABI version; 0 when Landlock is not there."""
    try:
        return syscall(NR_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    except OSError:
        return 0


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
    attr = _RulesetAttr(handled, 0, 0)
    ruleset = syscall(NR_CREATE_RULESET, ctypes.byref(attr), 8, 0)  # the ABI 1 struct: fs rights only
    try:
        for fd, readonly in roots:
            rights = (READ if readonly else READ | WRITE) & handled
            if not statmod.S_ISDIR(os.fstat(fd).st_mode):
                rights &= FILE_RIGHTS
            rule = _PathBeneath(rights, fd)
            syscall(NR_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0)
        syscall(NR_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)
    return True
