"""Exec: what the sentry decides before the host replaces a process image.

The sentry resolves the program in its own VFS, checks that it may be
executed, follows `#!` lines itself (the interpreter too is looked up in
the sandbox, never by the host), and hands the platform an fd to exec with
execveat(fd, "", argv, envp, AT_EMPTY_PATH). A dynamic binary's PT_INTERP
is opened by the host kernel: that is why the workload's host root is a
read-only view of its rootfs (docs/architecture.md, "Exec").
"""
from __future__ import annotations

import collections
import errno
import os
import posixpath
import stat as statmod

from runsc_py.platform import ExecVia
from runsc_py.sentry.credentials import FileCaps, parse_file_caps
from runsc_py.sentry.errors import SyscallError

BINPRM_BUF_SIZE = 256
MAX_INTERPRETER_DEPTH = 4   # Linux's BINPRM_MAX_RECURSION
MAX_ARG_POINTERS = 0x7FFFFFFF // 8
PAGE = 4096
POINTER_CHUNK = 512           # bytes of pointers read at once (never past a page end)


class PendingExec(collections.namedtuple("PendingExec",
                                          "exe comm setuid_to setgid_to file_caps inode",
                                          defaults=(None, None))):
    """What the sentry applies when the host reports the exec done (Kernel.on_exec)."""

    __slots__ = ()
    # fields:
    # exe: str                 # the program's guest path, for /proc/PID/exe
    # comm: bytes
    # setuid_to: int | None    # the file's owner, when its set-id bit counts
    # setgid_to: int | None
    # file_caps: FileCaps | None = None   # its security.capability, when that counts
    # inode: tuple[int, int] | None = None  # (st_dev, st_ino) of the host file vetted


def open_executable(ctx, base: str, path: str):
    """Resolve and open a program for exec, with Linux's checks.

    Opened non-blocking, without taking a terminal: the path may name a
    FIFO (whose open would wait for a writer, and the sentry with it) or a
    device; either is refused (EACCES) once it is open."""
    res = ctx.kernel.vfs.resolve(base, path, follow=True,
                                 open_flags=os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    if not statmod.S_ISREG(res.stat.mode) or "noexec" in res.mount.options:
        _close(res.fd)
        raise SyscallError(errno.EACCES)
    if not ctx.process.creds.may_execute(res.stat):
        _close(res.fd)
        raise SyscallError(errno.EACCES)
    return res


def prepare_exec(ctx, base: str, path: str, argv_addr: int, envp_addr: int) -> ExecVia:
    ctx.kernel.check_nproc_at_exec(ctx.task)
    argv, argv_end = pointer_array(ctx, argv_addr) if argv_addr else ([], 0)
    # Any NUL byte of the caller's will do for execveat's "": argv's NULL
    # pointer, else envp's. envp is otherwise left to the host to read.
    empty_addr = argv_end or (pointer_array(ctx, envp_addr)[1] if envp_addr else 0)
    as_given = path
    prefix: list[bytes] = []  # interpreter words to prepend, outermost last
    for _depth in range(MAX_INTERPRETER_DEPTH + 1):
        res = open_executable(ctx, base, path)
        header = os.pread(res.fd, BINPRM_BUF_SIZE, 0)
        if header.startswith(b"\x7fELF"):
            break
        if not header.startswith(b"#!"):
            os.close(res.fd)
            raise SyscallError(errno.ENOEXEC)
        os.close(res.fd)
        interp, arg = parse_shebang(header)
        # Linux: argv becomes [interp, arg?, script] + the previous argv[1:]
        prefix = [interp] + ([arg] if arg else []) + [os.fsencode(path)] + prefix[1:]
        path = os.fsdecode(interp)
    else:
        raise SyscallError(errno.ELOOP)
    if prefix:
        argv_addr, empty_addr = _write_argv(ctx, prefix, argv[1:])
    elif not empty_addr:
        empty_addr = ctx.push_scratch(b"\0")
    creds = ctx.process.creds
    setuid_to, setgid_to = creds.setid_of(res.stat, res.mount.options)
    try:
        file_caps = file_capabilities(res)
        creds.copy().on_exec(setuid_to, setgid_to, file_caps)   # its EPERM, before the host execs
    except SyscallError:
        os.close(res.fd)
        raise
    host = os.fstat(res.fd)
    ctx.task.exec_pending = PendingExec(res.path, os.fsencode(posixpath.basename(as_given))[:15],
                                        setuid_to, setgid_to, file_caps,
                                        (host.st_dev, host.st_ino))
    return ExecVia(res.fd, argv_addr, envp_addr, empty_addr)


def file_capabilities(res) -> FileCaps | None:
    """The program's file capabilities (its security.capability xattr: the
    host file's, read through the fd the gofer opened, or a tmpfs file's),
    as get_file_caps reads them: never on a nosuid mount. EINVAL for a
    malformed value fails the exec, as on Linux."""
    if "nosuid" in res.mount.options:
        return None
    return parse_file_caps(res.mount.fs.file_caps(res.node, res.fd))


def pointer_array(ctx, addr: int) -> tuple[list[int], int]:
    """A NULL-terminated pointer array: (the pointers, the address of the NULL).

    Read a page's worth at a time rather than a pointer at a time: an
    environment of 40 variables is one read, not 41.
    """
    out: list[int] = []
    while len(out) < MAX_ARG_POINTERS:
        chunk = ctx.read(addr, max(8, min(PAGE - addr % PAGE, POINTER_CHUNK)))
        for i in range(0, len(chunk) - 7, 8):
            value = int.from_bytes(chunk[i:i + 8], "little")
            if value == 0:
                return out, addr + i
            out.append(value)
        addr += len(chunk) & ~7
    raise SyscallError(errno.E2BIG)


def parse_shebang(header: bytes) -> tuple[bytes, bytes]:
    """The interpreter and its one optional argument, as Linux splits a `#!` line."""
    line = header[2:].split(b"\n", 1)
    if len(line) == 1 and len(header) == BINPRM_BUF_SIZE:
        raise SyscallError(errno.ENOEXEC)  # interpreter line longer than Linux reads
    text = line[0].replace(b"\t", b" ").strip()
    if not text:
        raise SyscallError(errno.ENOEXEC)
    interp, _, arg = text.partition(b" ")
    return interp, arg.strip()


def _write_argv(ctx, words: list[bytes], rest_ptrs: list[int]) -> tuple[int, int]:
    """Put a new argv (words, then the caller's own argv[1:]) in scratch memory."""
    addrs = [ctx.push_scratch(w + b"\0") for w in words]
    empty = ctx.push_scratch(b"\0")
    table = b"".join(a.to_bytes(8, "little") for a in addrs + rest_ptrs) + bytes(8)
    return ctx.push_scratch(table), empty


def _close(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)
