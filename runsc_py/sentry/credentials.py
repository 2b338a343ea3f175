"""Credentials: who a process is, as the sentry (never the host) decides.

The workload's host threads keep the identity they were started with; the
ids and capabilities a workload sees and changes live here, and every
permission the sentry checks (the VFS's, kill's, capset's) reads them. The
rules are Linux's (kernel/sys.c, security/commoncap.c), including how a
change of uid moves the capability sets (`_fix_caps_after_setuid`) and how
exec recomputes them (`on_exec`).

A capability set is an int with bit N for capability N (linux/capability.h).
"""
from __future__ import annotations

import collections
import errno
import os
import stat as statmod
import struct

from runsc_py.sentry.errors import SyscallError

CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID = 0, 1, 2, 3, 4
CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP = 5, 6, 7, 8
CAP_LINUX_IMMUTABLE, CAP_MKNOD = 9, 27
CAP_SYS_PTRACE, CAP_SYS_ADMIN = 19, 21
CAP_SETFCAP = 31
CAP_LAST_CAP = 40                      # CAP_CHECKPOINT_RESTORE on 6.x
ALL_CAPS = (1 << (CAP_LAST_CAP + 1)) - 1
# linux/capability.h's numbers, by the names OCI configs use
CAPABILITY_NUMBERS = {f"CAP_{name}": number for number, name in enumerate((
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"))}


def capability_mask(names) -> int:
    """The bit mask of capability names; names this kernel does not know grant nothing (as runc)."""
    mask = 0
    for name in names:
        number = CAPABILITY_NUMBERS.get(name)
        if number is not None:
            mask |= 1 << number
    return mask
# What a filesystem uid of 0 carries (include/linux/capability.h CAP_FS_MASK).
CAP_FS_MASK = (1 << CAP_CHOWN | 1 << CAP_DAC_OVERRIDE | 1 << CAP_DAC_READ_SEARCH
               | 1 << CAP_FOWNER | 1 << CAP_FSETID | 1 << CAP_LINUX_IMMUTABLE | 1 << CAP_MKNOD
               | 1 << 32)  # CAP_MAC_OVERRIDE
NGROUPS_MAX = 65536
NO_ID = 0xFFFFFFFF                      # (uid_t)-1: "leave this one unchanged"


def cap_valid(cap: int) -> bool:
    return 0 <= cap <= CAP_LAST_CAP


# -- file capabilities: the security.capability xattr (linux/capability.h) ----

XATTR_NAME_CAPS = "security.capability"
VFS_CAP_REVISION_MASK, VFS_CAP_FLAGS_EFFECTIVE = 0xFF000000, 0x000001
VFS_CAP_REVISION_1, VFS_CAP_REVISION_2, VFS_CAP_REVISION_3 = 0x01000000, 0x02000000, 0x03000000
XATTR_CAPS_SIZES = {VFS_CAP_REVISION_1: 12, VFS_CAP_REVISION_2: 20, VFS_CAP_REVISION_3: 24}


class FileCaps(collections.namedtuple("FileCaps", "permitted inheritable effective")):
    """A file's capability sets (fP: int, fI: int) and its effective bit (fE: bool)."""

    __slots__ = ()


def parse_file_caps(raw: bytes | None) -> FileCaps | None:
    """security.capability as exec reads it (get_vfs_caps_from_disk): None when
    the file has none or they are not for this user namespace (a revision 3
    whose root id is not 0: the sandbox is its own initial namespace);
    EINVAL for a value of the wrong size or revision, which fails the exec."""
    if raw is None:
        return None
    if len(raw) < 4:
        raise SyscallError(errno.EINVAL)
    (magic,) = struct.unpack_from("<I", raw)
    revision = magic & VFS_CAP_REVISION_MASK
    if XATTR_CAPS_SIZES.get(revision) != len(raw):
        raise SyscallError(errno.EINVAL)
    words = struct.unpack_from("<%dI" % ((len(raw) - 4) // 4), raw, 4)
    if revision == VFS_CAP_REVISION_3 and words[4] != 0:
        return None
    permitted, inheritable = words[0], words[1]
    if revision != VFS_CAP_REVISION_1:
        permitted |= words[2] << 32
        inheritable |= words[3] << 32
    return FileCaps(permitted & ALL_CAPS, inheritable & ALL_CAPS, bool(magic & VFS_CAP_FLAGS_EFFECTIVE))


def as_read_caps(value: bytes) -> bytes:
    """security.capability as getxattr shows it (cap_inode_getsecurity): a
    revision 3 value for root id 0, the root of the sandbox's namespace,
    reads as revision 2."""
    if len(value) == XATTR_CAPS_SIZES[VFS_CAP_REVISION_3] and value[20:24] == bytes(4) \
            and struct.unpack_from("<I", value)[0] & VFS_CAP_REVISION_MASK == VFS_CAP_REVISION_3:
        magic = VFS_CAP_REVISION_2 | struct.unpack_from("<I", value)[0] & VFS_CAP_FLAGS_EFFECTIVE
        return struct.pack("<I", magic) + value[4:20]
    return value


def check_caps_xattr(creds: "Credentials", value: bytes) -> None:
    """Setting (`value`) or removing (None) security.capability
    (cap_convert_nscap, cap_inode_removexattr): a value must be a
    well-formed revision 2 or 3 (EINVAL, checked first), and the caller
    needs CAP_SETFCAP."""
    if value is not None:
        magic = struct.unpack_from("<I", value)[0] if len(value) >= 4 else 0
        revision = magic & VFS_CAP_REVISION_MASK
        if revision not in (VFS_CAP_REVISION_2, VFS_CAP_REVISION_3) or XATTR_CAPS_SIZES[revision] != len(value):
            raise SyscallError(errno.EINVAL)
    if not creds.capable(CAP_SETFCAP):
        raise SyscallError(errno.EPERM)


class Credentials:
    """A task's ids and capability sets, as struct cred holds them.

    A plain class, not a dataclass: every cold start makes these, and
    `dataclasses` costs ~6 ms to import.
    """

    def __init__(self, uid: int = 0, euid: int = 0, suid: int = 0,
                 gid: int = 0, egid: int = 0, sgid: int = 0, groups: tuple[int, ...] = (),
                 fsuid: int = -1, fsgid: int = -1,
                 cap_effective: int = -1, cap_permitted: int = -1, cap_inheritable: int = 0,
                 cap_bounding: int = ALL_CAPS, cap_ambient: int = 0,
                 keep_caps: bool = False, no_new_privs: bool = False):
        root_caps = ALL_CAPS if euid == 0 else 0
        self.uid, self.euid, self.suid = uid, euid, suid
        self.gid, self.egid, self.sgid = gid, egid, sgid
        self.groups = groups
        self.fsuid = euid if fsuid == -1 else fsuid     # -1: the effective id, as after any set*id
        self.fsgid = egid if fsgid == -1 else fsgid
        # -1: every capability for euid 0, none otherwise
        self.cap_effective = root_caps if cap_effective == -1 else cap_effective
        self.cap_permitted = root_caps if cap_permitted == -1 else cap_permitted
        self.cap_inheritable = cap_inheritable
        self.cap_bounding = cap_bounding
        self.cap_ambient = cap_ambient
        self.keep_caps = keep_caps          # PR_SET_KEEPCAPS (cleared by exec)
        self.no_new_privs = no_new_privs    # PR_SET_NO_NEW_PRIVS (inherited, never cleared)

    def __eq__(self, other) -> bool:
        return type(other) is Credentials and other.__dict__ == self.__dict__

    __hash__ = None   # mutable: set*id change it in place

    def __repr__(self) -> str:
        return "Credentials(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"

    @staticmethod
    def parse_ids(text: str) -> tuple[int, int]:
        """"UID[:GID]" as `do --user` and the API's user= take it (numbers:
        the sandbox has no user names of its own); GID defaults to UID."""
        uid, _, gid = text.partition(":")
        try:
            ids = int(uid), int(gid or uid)
        except ValueError:
            raise ValueError(f"{text!r} is not UID[:GID] (numbers)") from None
        if not all(0 <= i < 2**32 - 1 for i in ids):
            raise ValueError(f"{text!r} is out of range")
        return ids

    @classmethod
    def for_user(cls, uid: int, gid: int, groups: tuple[int, ...] = ()) -> "Credentials":
        """A process started as uid/gid: root holds every capability, others none."""
        caps = ALL_CAPS if uid == 0 else 0
        return cls(uid, uid, uid, gid, gid, gid, tuple(groups), uid, gid,
                   cap_effective=caps, cap_permitted=caps)

    @classmethod
    def of_host_process(cls) -> "Credentials":
        """The sentry's own ids and capability sets: what `runsc-py do`'s workload starts with."""
        caps = {}
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Cap"):
                    name, value = line.split(b":")
                    caps[name.decode()] = int(value, 16)
        uid, gid = os.geteuid(), os.getegid()
        return cls(os.getuid(), uid, uid, os.getgid(), gid, gid, tuple(os.getgroups()), uid, gid,
                   cap_effective=caps.get("CapEff", 0), cap_permitted=caps.get("CapPrm", 0),
                   cap_inheritable=caps.get("CapInh", 0), cap_bounding=caps.get("CapBnd", 0),
                   cap_ambient=caps.get("CapAmb", 0))

    def copy(self) -> "Credentials":
        twin = object.__new__(Credentials)   # every fork copies: skip __init__'s work
        twin.__dict__.update(self.__dict__)
        return twin

    # -- checks other parts of the sentry make -----------------------------

    def capable(self, cap: int) -> bool:
        """Whether the effective capability set holds `cap` (linux/capability.h numbers)."""
        return bool(self.cap_effective >> cap & 1)

    def may_access(self, st, want: int, real: bool = False) -> bool:
        """The check of R_OK|W_OK|X_OK (4|2|1) against a file's mode, as generic_permission does.

        Uses the filesystem ids (fsuid/fsgid), or the real ones for access(2)
        (`real=True`). CAP_DAC_OVERRIDE passes read and write, and execute
        when some x bit is set or the file is a directory; CAP_DAC_READ_SEARCH
        passes read, and search on directories.
        """
        uid, gid = (self.uid, self.gid) if real else (self.fsuid, self.fsgid)
        if st.uid == uid:
            bits = (st.mode >> 6) & 7
        elif st.gid == gid or st.gid in self.groups:
            bits = (st.mode >> 3) & 7
        else:
            bits = st.mode & 7
        if want & bits == want:
            return True
        caps = self._caps_for_access(real)
        is_dir = statmod.S_ISDIR(st.mode)
        if caps >> CAP_DAC_OVERRIDE & 1:
            return not (want & 1) or is_dir or bool(st.mode & 0o111)
        if caps >> CAP_DAC_READ_SEARCH & 1:
            return want & ~(4 | (1 if is_dir else 0)) == 0
        return False

    def may_execute(self, st) -> bool:
        return self.may_access(st, 1)

    def setid_of(self, st, mount_options) -> tuple[int | None, int | None]:
        """The ids an exec of a file with stat `st` switches to (bprm_fill_uid):
        its owner for S_ISUID, its group for S_ISGID with group execute; never
        on a nosuid mount or under no_new_privs."""
        if "nosuid" in mount_options or self.no_new_privs:
            return None, None
        uid = st.uid if st.mode & statmod.S_ISUID else None
        gid = st.gid if st.mode & (statmod.S_ISGID | 0o010) == statmod.S_ISGID | 0o010 else None
        return uid, gid

    def _caps_for_access(self, real: bool) -> int:
        """access(2) runs with the real ids, and with no capabilities unless ruid is 0."""
        if not real:
            return self.cap_effective
        return self.cap_permitted if self.uid == 0 else 0

    def may_signal(self, target: "Credentials") -> bool:
        """kill(2)'s check: CAP_KILL, or a real/effective uid matching the target's real/saved one."""
        return (self.capable(CAP_KILL) or self.euid in (target.uid, target.suid)
                or self.uid in (target.uid, target.suid))

    def may_inspect(self, target: "Credentials") -> bool:
        """ptrace's access check (PTRACE_MODE_ATTACH_REALCREDS), which pidfd_getfd uses."""
        if self.capable(CAP_SYS_PTRACE):
            return True
        same_user = {target.uid, target.euid, target.suid} == {self.uid}
        same_group = {target.gid, target.egid, target.sgid} == {self.gid}
        return same_user and same_group and target.cap_permitted & ~self.cap_permitted == 0

    # -- the set*id family ----------------------------------------------------

    def setuid(self, uid: int) -> None:
        _check_id(uid)
        old = self._uids()
        if self.capable(CAP_SETUID):
            self.uid = self.euid = self.suid = uid
        elif uid in (self.uid, self.suid):
            self.euid = uid
        else:
            raise SyscallError(errno.EPERM)
        self.fsuid = self.euid
        self._fix_caps_after_setuid(old)

    def setreuid(self, ruid: int, euid: int) -> None:
        old = self._uids()
        new_r = self.uid if ruid == NO_ID else _check_id(ruid)
        new_e = self.euid if euid == NO_ID else _check_id(euid)
        if not self.capable(CAP_SETUID):
            if ruid != NO_ID and ruid not in (self.uid, self.euid):
                raise SyscallError(errno.EPERM)
            if euid != NO_ID and euid not in (self.uid, self.euid, self.suid):
                raise SyscallError(errno.EPERM)
        if ruid != NO_ID or (euid != NO_ID and new_e != self.uid):
            self.suid = new_e
        self.uid, self.euid, self.fsuid = new_r, new_e, new_e
        self._fix_caps_after_setuid(old)

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        old = self._uids()
        wanted = [v for v in (ruid, euid, suid) if v != NO_ID]
        for v in wanted:
            _check_id(v)
        if not self.capable(CAP_SETUID) and any(v not in old for v in wanted):
            raise SyscallError(errno.EPERM)
        if ruid != NO_ID:
            self.uid = ruid
        if euid != NO_ID:
            self.euid = euid
        if suid != NO_ID:
            self.suid = suid
        self.fsuid = self.euid
        self._fix_caps_after_setuid(old)

    def setfsuid(self, fsuid: int) -> int:
        """Returns the previous fsuid whether or not it changed, as Linux does."""
        old = self.fsuid
        if fsuid <= NO_ID - 1 and (fsuid in (self.uid, self.euid, self.suid, self.fsuid)
                                   or self.capable(CAP_SETUID)):
            self.fsuid = fsuid
            self._fix_fs_caps(old)
        return old

    def setgid(self, gid: int) -> None:
        _check_id(gid)
        if self.capable(CAP_SETGID):
            self.gid = self.egid = self.sgid = gid
        elif gid in (self.gid, self.sgid):
            self.egid = gid
        else:
            raise SyscallError(errno.EPERM)
        self.fsgid = self.egid

    def setregid(self, rgid: int, egid: int) -> None:
        new_r = self.gid if rgid == NO_ID else _check_id(rgid)
        new_e = self.egid if egid == NO_ID else _check_id(egid)
        if not self.capable(CAP_SETGID):
            if rgid != NO_ID and rgid not in (self.gid, self.egid):
                raise SyscallError(errno.EPERM)
            if egid != NO_ID and egid not in (self.gid, self.egid, self.sgid):
                raise SyscallError(errno.EPERM)
        if rgid != NO_ID or (egid != NO_ID and new_e != self.gid):
            self.sgid = new_e
        self.gid, self.egid, self.fsgid = new_r, new_e, new_e

    def setresgid(self, rgid: int, egid: int, sgid: int) -> None:
        old = (self.gid, self.egid, self.sgid)
        wanted = [v for v in (rgid, egid, sgid) if v != NO_ID]
        for v in wanted:
            _check_id(v)
        if not self.capable(CAP_SETGID) and any(v not in old for v in wanted):
            raise SyscallError(errno.EPERM)
        if rgid != NO_ID:
            self.gid = rgid
        if egid != NO_ID:
            self.egid = egid
        if sgid != NO_ID:
            self.sgid = sgid
        self.fsgid = self.egid

    def setfsgid(self, fsgid: int) -> int:
        old = self.fsgid
        if fsgid <= NO_ID - 1 and (fsgid in (self.gid, self.egid, self.sgid, self.fsgid)
                                   or self.capable(CAP_SETGID)):
            self.fsgid = fsgid
        return old

    def setgroups(self, groups: tuple[int, ...]) -> None:
        if len(groups) > NGROUPS_MAX:
            raise SyscallError(errno.EINVAL)
        if not self.capable(CAP_SETGID):
            raise SyscallError(errno.EPERM)
        self.groups = tuple(sorted(set(groups)))

    # -- capabilities ---------------------------------------------------------

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        """capset(2)'s rules (cap_capset): sets only shrink, inheritable stays bounded."""
        if any(s & ~ALL_CAPS for s in (effective, permitted, inheritable)):
            effective, permitted, inheritable = (s & ALL_CAPS for s in (effective, permitted, inheritable))
        allowed_inh = self.cap_inheritable | (ALL_CAPS if self.capable(CAP_SETPCAP) else self.cap_permitted)
        if inheritable & ~allowed_inh:
            raise SyscallError(errno.EPERM)
        if inheritable & ~(self.cap_inheritable | self.cap_bounding):
            raise SyscallError(errno.EPERM)
        if permitted & ~self.cap_permitted:
            raise SyscallError(errno.EPERM)
        if effective & ~permitted:
            raise SyscallError(errno.EPERM)
        self.cap_effective, self.cap_permitted, self.cap_inheritable = effective, permitted, inheritable
        self.cap_ambient &= permitted & inheritable

    def drop_bounding(self, cap: int) -> None:
        """PR_CAPBSET_DROP."""
        if not cap_valid(cap):
            raise SyscallError(errno.EINVAL)
        if not self.capable(CAP_SETPCAP):
            raise SyscallError(errno.EPERM)
        self.cap_bounding &= ~(1 << cap)

    def raise_ambient(self, cap: int) -> None:
        """PR_CAP_AMBIENT_RAISE: only a capability both permitted and inheritable."""
        if not cap_valid(cap):
            raise SyscallError(errno.EINVAL)
        bit = 1 << cap
        if not (self.cap_permitted & bit and self.cap_inheritable & bit):
            raise SyscallError(errno.EPERM)
        self.cap_ambient |= bit

    def on_exec(self, setuid_to: int | None = None, setgid_to: int | None = None,
                file_caps: FileCaps | None = None) -> bool:
        """The new image's ids and capabilities, as Linux computes them.

        `setuid_to`/`setgid_to` are the file's owner and group when its
        set-id bits count (`setid_of`); then the effective id changes
        (bprm_fill_uid). `file_caps` are its file capabilities when they
        count (not on a nosuid mount). The capability sets follow
        cap_bprm_creds_from_file: pP' = (X & fP) | (pI & fI), effective
        when fE; root (real or effective uid 0, after the change) gets its
        bounding and inheritable sets as permitted instead, effective only
        for euid 0, unless a set-uid-root file with file capabilities made
        a non-root user euid 0; file capabilities or an id change clear the
        ambient set, which is then added. EPERM when fE is set and some of
        fP is not granted. With no_new_privs an id change is undone (euid
        back to the real uid) and nothing is gained. Returns whether the
        exec is "secure" (AT_SECURE: the loader must ignore LD_PRELOAD &
        co), as Linux's bprm->secureexec.
        """
        euid = self.euid if setuid_to is None else setuid_to
        egid = self.egid if setgid_to is None else setgid_to
        old_permitted = self.cap_permitted
        permitted, effective = 0, False
        if file_caps is not None:   # bprm_caps_from_vfs_caps
            effective = file_caps.effective
            permitted = (self.cap_bounding & file_caps.permitted) | (self.cap_inheritable & file_caps.inheritable)
            if effective and file_caps.permitted & ~permitted:
                raise SyscallError(errno.EPERM)   # it could not run as it expects
        if not (file_caps is not None and self.uid != 0 and euid == 0):   # handle_privileged_root
            if euid == 0 or self.uid == 0:
                permitted = (self.cap_bounding | self.cap_inheritable) & ALL_CAPS
            if euid == 0:
                effective = True
        id_changed = euid != self.euid or not (egid == self.fsgid or egid in self.groups)
        if (id_changed or permitted & ~old_permitted) and self.no_new_privs:
            euid, egid = self.uid, self.gid
            permitted &= old_permitted
        secure = id_changed or euid != self.uid or egid != self.gid
        self.euid = self.suid = self.fsuid = euid
        self.egid = self.sgid = self.fsgid = egid
        if file_caps is not None or id_changed:
            self.cap_ambient = 0
        permitted |= self.cap_ambient
        self.cap_permitted = permitted
        self.cap_effective = permitted if effective else self.cap_ambient
        self.keep_caps = False
        return secure or (self.uid != 0 and (effective or bool(permitted & ~self.cap_ambient)))

    def _uids(self) -> tuple[int, int, int]:
        return (self.uid, self.euid, self.suid)

    def _fix_caps_after_setuid(self, old: tuple[int, int, int]) -> None:
        """cap_emulate_setxuid: leaving uid 0 drops capabilities, as Linux does."""
        old_r, old_e, old_s = old
        if 0 in old and 0 not in self._uids() and not self.keep_caps:
            self.cap_permitted = self.cap_effective = self.cap_ambient = 0
        if old_e == 0 and self.euid != 0:
            self.cap_effective = 0
        if old_e != 0 and self.euid == 0:
            self.cap_effective = self.cap_permitted

    def _fix_fs_caps(self, old_fsuid: int) -> None:
        if old_fsuid == 0 and self.fsuid != 0:
            self.cap_effective &= ~CAP_FS_MASK
        elif old_fsuid != 0 and self.fsuid == 0:
            self.cap_effective |= self.cap_permitted & CAP_FS_MASK


def _check_id(v: int) -> int:
    if not 0 <= v < NO_ID:
        raise SyscallError(errno.EINVAL)
    return v
