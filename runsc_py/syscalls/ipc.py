"""System V IPC: native in the workload's own IPC namespace, with the
sandbox's ids in what *ctl(IPC_STAT) and friends report.

Objects are made and used by the host kernel (their ids are registers),
but the host knows every sandbox process as one unprivileged user, so a
struct ipc64_perm it writes says that user (2000000000 and up) where the
sandbox expects its own creator's and owner's ids. These calls run with
an exit stop (Policy.AT_EXIT): a get that made an object records its
creator's sandbox ids, IPC_SET the owner it gave, IPC_RMID forgets; a
STAT gets the recorded ids written over the host's. Permission modes
between the sandbox's own users stay unenforced (docs/compatibility.md).
"""
from __future__ import annotations

import contextlib
import struct

from runsc_py.platform import NATIVE, AtExit, MemoryFault
from runsc_py.syscalls.context import as_int

IPC_RMID, IPC_SET, IPC_STAT = 0, 1, 2
IPC_64 = 0x100
# the commands that write a struct ipc64_perm at the buffer, per kind: IPC_STAT
# and the by-index STAT, STAT_ANY (whose result is the object's id)
STATS = {"shm": (IPC_STAT, 13, 15), "sem": (IPC_STAT, 18, 20), "msg": (IPC_STAT, 11, 13)}
BY_INDEX = {"shm": (13, 15), "sem": (18, 20), "msg": (11, 13)}
PERM_IDS = struct.Struct("<IIII")   # uid, gid, cuid, cgid: ipc64_perm after its key


def _get(ctx, kind: str):
    """shmget/semget/msgget: an id not seen before is a new object, made by the caller."""
    owners, creds = ctx.kernel.ipc_owners, ctx.process.creds
    ids = (creds.euid, creds.egid)

    def amend(result: int) -> None:
        if result >= 0 and (kind, result) not in owners:
            owners[(kind, result)] = ids * 2   # owner and creator

    return AtExit(amend)


def _ctl(ctx, kind: str, ident: int, cmd: int, buf: int):
    cmd = as_int(cmd) & ~IPC_64
    ident = as_int(ident)
    owners, kernel, tid = ctx.kernel.ipc_owners, ctx.kernel, ctx.task.host_tid
    if cmd == IPC_RMID:
        return AtExit(lambda result: result == 0 and owners.pop((kind, ident), None))
    if cmd == IPC_SET and buf:
        def set_owner(result: int) -> None:
            key = (kind, ident)
            if result == 0 and key in owners:
                try:
                    uid, gid = struct.unpack("<II", kernel.platform.read(tid, buf + 4, 8))
                except (MemoryFault, OSError):
                    return
                owners[key] = (uid, gid) + owners[key][2:]
        return AtExit(set_owner)
    if cmd not in STATS[kind] or not buf:
        return NATIVE

    def amend(result: int) -> None:
        if result < 0:
            return
        key = (kind, result if cmd in BY_INDEX[kind] else ident)
        ids = owners.get(key, (0, 0, 0, 0))   # made before the sandbox looked: root's
        with contextlib.suppress(MemoryFault, OSError):   # unmapped since, or the task died
            kernel.platform.write(tid, buf + 4, PERM_IDS.pack(*ids))

    return AtExit(amend)


def shmget(ctx, key, size, shmflg):
    return _get(ctx, "shm")


def semget(ctx, key, nsems, semflg):
    return _get(ctx, "sem")


def msgget(ctx, key, msgflg):
    return _get(ctx, "msg")


def shmctl(ctx, shmid, cmd, buf):
    return _ctl(ctx, "shm", shmid, cmd, buf)


def semctl(ctx, semid, semnum, cmd, arg):
    return _ctl(ctx, "sem", semid, cmd, arg)


def msgctl(ctx, msqid, cmd, buf):
    return _ctl(ctx, "msg", msqid, cmd, buf)
