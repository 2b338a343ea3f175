"""Who may do what to a file: Linux's permission rules over the sentry's credentials.

The gofer and the host run as the sentry's own user, so they cannot
decide for the workload; every check is made here, from the mode and
owner the sentry reports and the calling process's credentials
(fsuid/fsgid and groups, and the capabilities that override the bits:
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN, CAP_FSETID).
"""
from __future__ import annotations

import errno
import stat as statmod

from runsc_py.sentry.errors import SyscallError
from runsc_py.sentry.stat import Stat

R_OK, W_OK, X_OK = 4, 2, 1
CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID = 0, 1, 2, 3, 4


def permitted(creds, st: Stat, want: int) -> bool:
    """generic_permission(): may `creds` (by fsuid/fsgid, groups and capabilities)
    have `want` of R_OK|W_OK|X_OK? The rule itself is the credentials' own."""
    return creds.may_access(st, want)


def check(creds, st: Stat, want: int) -> None:
    if not permitted(creds, st, want):
        raise SyscallError(errno.EACCES)


def check_create(creds, dir_st: Stat) -> None:
    """may_create(): write and search permission on the directory."""
    check(creds, dir_st, W_OK | X_OK)


def check_delete(creds, dir_st: Stat, victim: Stat) -> None:
    """may_delete(): write and search on the directory, and the sticky bit's rule."""
    check(creds, dir_st, W_OK | X_OK)
    if dir_st.mode & statmod.S_ISVTX and creds.fsuid not in (dir_st.uid, victim.uid) \
            and not creds.capable(CAP_FOWNER):
        raise SyscallError(errno.EPERM)


def check_link_source(creds, st: Stat) -> None:
    """may_linkat() under fs.protected_hardlinks=1 (every distribution's
    default): a file its caller neither owns nor may read and write, a
    special file, a set-uid or an executable set-gid file gets no new
    name from a caller without CAP_FOWNER (EPERM)."""
    safe = statmod.S_ISREG(st.mode) and not st.mode & statmod.S_ISUID \
        and st.mode & (statmod.S_ISGID | statmod.S_IXGRP) != statmod.S_ISGID | statmod.S_IXGRP \
        and permitted(creds, st, R_OK | W_OK)
    if not safe and not is_owner(creds, st):
        raise SyscallError(errno.EPERM)


def is_owner(creds, st: Stat) -> bool:
    """inode_owner_or_capable()."""
    return creds.fsuid == st.uid or creds.capable(CAP_FOWNER)


def check_chmod(creds, st: Stat, mode: int) -> int:
    """The mode chmod may set: EPERM unless owner; setgid dropped if not in the group."""
    if not is_owner(creds, st):
        raise SyscallError(errno.EPERM)
    if mode & statmod.S_ISGID and st.gid != creds.fsgid and st.gid not in creds.groups \
            and not creds.capable(CAP_FSETID):
        mode &= ~statmod.S_ISGID
    return mode


def check_chown(creds, st: Stat, uid: int | None, gid: int | None) -> None:
    """chown_ok()/chgrp_ok(): only CAP_CHOWN changes the owner, or gives a foreign group."""
    if creds.capable(CAP_CHOWN):
        return
    if uid is not None and uid != st.uid:
        raise SyscallError(errno.EPERM)
    if gid is not None and gid != st.gid and (
            creds.fsuid != st.uid or (gid != creds.fsgid and gid not in creds.groups)):
        raise SyscallError(errno.EPERM)
    if (uid is not None or gid is not None) and creds.fsuid != st.uid:
        raise SyscallError(errno.EPERM)


def check_utimes(creds, st: Stat, explicit: bool) -> None:
    """Setting times: explicit values need ownership; "now" also needs write access."""
    if is_owner(creds, st):
        return
    if explicit:
        raise SyscallError(errno.EPERM)
    check(creds, st, W_OK)


def new_owner(creds, dir_st: Stat, mode: int) -> tuple[int, int, int]:
    """(uid, gid, mode) of a new file: a setgid directory passes on its group (and
    to a new directory, its setgid bit)."""
    if dir_st.mode & statmod.S_ISGID:
        if statmod.S_ISDIR(mode):
            mode |= statmod.S_ISGID
        return creds.fsuid, dir_st.gid, mode
    return creds.fsuid, creds.fsgid, mode
