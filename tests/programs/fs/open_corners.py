"""Corners of naming and opening a file, each a line: what Linux answers.

    python3 open_corners.py DIR      (as root; DIR empty)

Paths ending in "." or "..", an absolute path beside a bad dirfd (Linux
never looks at the dirfd then), open flags the access mode does not
explain (O_RDONLY|O_TRUNC truncates, access mode 3 opens for ioctls only,
O_DIRECT on a directory), statx's flag and mask checks and its mount id,
futimens of a file with no name left, and fs.protected_hardlinks for a
caller without CAP_FOWNER. Run natively and sandboxed, the outputs must
match (tests/differential/test_open_corners.py).
"""
import ctypes
import errno
import os
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR_STATX, NR_FUTIMESAT, NR_EXECVEAT = 332, 261, 322
BAD_FD = 999
STATX_BASIC_STATS, STATX_MNT_ID = 0x7FF, 0x1000
AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC = 0x2000, 0x4000


def show(label, fn):
    try:
        out = fn()
    except OSError as exc:
        out = errno.errorcode.get(exc.errno, exc.errno)
    print(f"{label}: {out}", flush=True)


def raw(nr, *args):
    rc = libc.syscall(nr, *args)
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def opened(path, flags, what=lambda fd: "ok"):
    fd = os.open(path, flags)
    try:
        return what(fd)
    finally:
        os.close(fd)


def statx(path, flags, mask):
    buf = ctypes.create_string_buffer(256)
    raw(NR_STATX, -100, os.fsencode(path), flags, mask, buf)
    return struct.unpack_from("<I", buf, 0)[0], struct.unpack_from("<Q", buf, 0x90)[0]


def dot_paths(top):
    os.mkdir("sub")
    for path in ("sub/.", "sub/..", "./sub/./", f"{top}/sub/.", "sub/./.."):
        label = repr(path.replace(top, "TOP"))
        show(f"open {label}", lambda: opened(path, os.O_RDONLY, lambda fd: os.fstat(fd).st_ino
                                              == os.stat(path).st_ino))
        show(f"listdir {label}", lambda: sorted(os.listdir(path)))
    show("O_CREAT 'sub/.'", lambda: opened("sub/.", os.O_CREAT | os.O_WRONLY))
    show("mkdir 'sub/new/.'", lambda: os.mkdir("sub/new/."))
    show("open 'f/.' of a file", lambda: (open("f", "w").close(), opened("f/.", os.O_RDONLY))[1])


def absolute_beside_bad_dirfd(top):
    a = f"{top}/abs"
    show("openat", lambda: opened(f"{top}/f", os.O_RDONLY) and os.close(
        os.open(f"{top}/f", os.O_RDONLY, dir_fd=BAD_FD)))
    show("mkdirat", lambda: os.mkdir(a, dir_fd=BAD_FD))
    show("faccessat", lambda: os.access(a, os.W_OK, dir_fd=BAD_FD))
    show("fchmodat", lambda: os.chmod(a, 0o700, dir_fd=BAD_FD))
    show("fchownat", lambda: os.chown(a, 5, 6, dir_fd=BAD_FD))
    show("utimensat", lambda: os.utime(a, (5, 6), dir_fd=BAD_FD))
    show("futimesat", lambda: raw(NR_FUTIMESAT, BAD_FD, os.fsencode(a), None))
    show("newfstatat", lambda: oct(os.stat(a, dir_fd=BAD_FD).st_mode))
    show("statx", lambda: statx(a, 0, STATX_BASIC_STATS)[0] & STATX_BASIC_STATS)
    show("symlinkat", lambda: os.symlink("abs", f"{top}/ln", dir_fd=BAD_FD))
    show("readlinkat", lambda: os.readlink(f"{top}/ln", dir_fd=BAD_FD))
    show("linkat", lambda: os.link(f"{top}/f", f"{top}/hard", src_dir_fd=BAD_FD, dst_dir_fd=BAD_FD))
    show("mknodat", lambda: os.mknod(f"{top}/fifo", 0o10600, dir_fd=BAD_FD))
    show("renameat", lambda: os.rename(f"{top}/fifo", f"{top}/fifo2", src_dir_fd=BAD_FD,
                                       dst_dir_fd=BAD_FD))
    show("unlinkat", lambda: os.unlink(f"{top}/fifo2", dir_fd=BAD_FD))
    show("unlinkat dir", lambda: os.rmdir(a, dir_fd=BAD_FD))
    show("execveat", lambda: exec_status(lambda: raw(
        NR_EXECVEAT, BAD_FD, b"/bin/true", (ctypes.c_char_p * 2)(b"true", None), None, 0)))


def exec_status(do_exec):
    pid = os.fork()
    if pid == 0:
        try:
            do_exec()
        except OSError as exc:
            os._exit(100 + exc.errno)
        os._exit(99)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def open_flags():
    with open("five", "w") as f:
        f.write("hello")
    show("O_RDONLY|O_TRUNC", lambda: opened("five", os.O_RDONLY | os.O_TRUNC,
                                            lambda fd: os.fstat(fd).st_size))
    show("O_DIRECT of a directory", lambda: opened("sub", os.O_RDONLY | os.O_DIRECT))
    show("O_DIRECT|O_PATH of a directory", lambda: opened("sub", os.O_PATH | os.O_DIRECT))
    show("access mode 3", lambda: opened("five", 3, lambda fd: os.fstat(fd).st_size))
    show("access mode 3, read", lambda: opened("five", 3, lambda fd: os.read(fd, 1)))
    show("access mode 3, write", lambda: opened("five", 3, lambda fd: os.write(fd, b"x")))
    show("access mode 3 of a directory", lambda: opened("sub", 3))


def statx_checks():
    show("statx reserved mask bit", lambda: statx("five", 0, 0x80000000))
    show("statx FORCE_SYNC|DONT_SYNC", lambda: statx("five", AT_STATX_FORCE_SYNC
                                                     | AT_STATX_DONT_SYNC, STATX_BASIC_STATS))
    mask, mnt_id = statx("five", 0, STATX_BASIC_STATS | STATX_MNT_ID)
    with open("/proc/self/mountinfo") as f:
        ids = {int(line.split()[0]) for line in f}
    show("statx STATX_MNT_ID", lambda: (bool(mask & STATX_MNT_ID), mnt_id in ids,
                                        mnt_id == statx("sub", 0, STATX_MNT_ID)[1]))
    # an absolute path again and again: the sandbox may replay its answer in C
    for _ in range(3):
        show("statx of an absolute path, again", lambda: statx("/etc", 0, STATX_BASIC_STATS)[0]
             & STATX_MNT_ID != 0)
    show("and with FORCE_SYNC|DONT_SYNC", lambda: statx("/etc", AT_STATX_FORCE_SYNC
                                                      | AT_STATX_DONT_SYNC, STATX_BASIC_STATS))


def futimens_unlinked():
    fd = os.open("gone", os.O_CREAT | os.O_RDWR, 0o600)
    os.unlink("gone")
    os.write(fd, b"data")
    show("futimens of an unlinked file", lambda: (os.utime(fd, ns=(10**9, 2 * 10**9)),
                                                  os.fstat(fd).st_atime_ns,
                                                  os.fstat(fd).st_mtime_ns)[1:])
    os.close(fd)


def protected_hardlinks():
    """As uid 1000 in a directory it may write: links of others' files."""
    os.mkdir("links", 0o777)
    os.chmod("links", 0o777)
    for name, mode in (("private", 0o600), ("shared", 0o666), ("setuid", 0o4755),
                       ("setgid", 0o2775), ("setgid_noexec", 0o2664)):
        open(f"links/{name}", "w").close()
        os.chmod(f"links/{name}", mode)
    os.mkfifo("links/fifo", 0o666)
    pid = os.fork()
    if pid == 0:
        os.setgroups([])
        os.setgid(1000)
        os.setuid(1000)
        open("links/mine", "w").close()
        for name in ("private", "shared", "setuid", "setgid", "setgid_noexec", "fifo", "mine"):
            show(f"uid 1000 links {name}", lambda: os.link(f"links/{name}", f"links/{name}.ln"))
        show("uid 1000 links private into an unwritable directory",
             lambda: os.link("links/private", "sub/x"))
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid, 0)


def main(top):
    os.chmod(top, 0o755)  # searchable by uid 1000 whatever made it (a tmpfs root is 1777)
    os.chdir(top)
    os.umask(0o022)
    dot_paths(top)
    absolute_beside_bad_dirfd(top)
    open_flags()
    statx_checks()
    futimens_unlinked()
    protected_hardlinks()


if __name__ == "__main__":
    main(sys.argv[1])
