"""path_calls.py DIR: exercise every path syscall in DIR, success and error paths.

Run natively and in the sandbox (tests/differential/test_path_calls.py);
the two outputs must be the same line for line. Each line is one call and
its outcome (the errno's name, or what it returned), with paths relative
to DIR so two scratch directories compare equal.
"""
import ctypes
import errno
import os
import stat
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
AT_FDCWD, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_EMPTY_PATH = -100, 0x100, 0x200, 0x1000
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
NR = {"renameat2": 316, "faccessat2": 439, "utimensat": 280, "mknodat": 259, "linkat": 265,
      "openat2": 437}
RESOLVE = {"NO_XDEV": 1, "NO_MAGICLINKS": 2, "NO_SYMLINKS": 4, "BENEATH": 8, "IN_ROOT": 16}


def show(label, fn):
    try:
        out = fn()
    except OSError as exc:
        out = errno.errorcode.get(exc.errno, exc.errno)
    print(f"{label}: {out}")


def raw(name, *args):
    rc = libc.syscall(NR[name], *args)
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def describe(path):
    st = os.lstat(path)
    kind = stat.S_IFMT(st.st_mode)
    size = st.st_size if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode) else "-"
    return f"{stat.filemode(st.st_mode)} nlink={st.st_nlink} size={size} kind={kind >> 12}"


def tree(top):
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            out.append(f"{os.path.relpath(path, top)} {describe(path)}")
    return "\n  ".join(sorted(out))


def main(top):
    os.chdir(top)
    os.umask(0o022)
    b = os.fsencode
    # mkdir / mkdirat
    show("mkdir d", lambda: os.mkdir("d", 0o755))
    show("mkdir d again", lambda: os.mkdir("d"))
    show("mkdir missing/parent", lambda: os.mkdir("missing/x"))
    show("mkdir d/ trailing slash", lambda: os.mkdir("e/"))
    show("mkdir .", lambda: os.mkdir("."))
    show("mkdir name too long", lambda: os.mkdir("n" * 256))
    show("mkdirat dirfd", lambda: os.mkdir("sub", dir_fd=os.open("d", os.O_RDONLY)))
    # open / creat
    show("open creat excl", lambda: os.close(os.open("f", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)))
    show("open creat excl again", lambda: os.open("f", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    show("open missing", lambda: os.open("nope", os.O_RDONLY))
    show("open dir for write", lambda: os.open("d", os.O_WRONLY))
    show("open O_DIRECTORY on file", lambda: os.open("f", os.O_RDONLY | os.O_DIRECTORY))
    show("open creat on dir", lambda: os.open("d", os.O_CREAT | os.O_WRONLY))
    show("open file/ trailing slash", lambda: os.open("f/", os.O_RDONLY))
    show("open creat trailing slash", lambda: os.open("g/", os.O_CREAT | os.O_WRONLY))
    show("open creat|directory", lambda: os.open("h", os.O_CREAT | os.O_DIRECTORY))
    show("write and truncate", lambda: (os.write(fd := os.open("f", os.O_WRONLY | os.O_TRUNC), b"hello world"), os.close(fd)))
    show("append", lambda: (os.write(fd := os.open("f", os.O_WRONLY | os.O_APPEND), b"!"), os.close(fd)))
    show("read back", lambda: open("f", "rb").read())
    show("O_TMPFILE", lambda: os.fstat(os.open(".", os.O_TMPFILE | os.O_RDWR, 0o600)).st_nlink)
    tmp = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o640)
    os.write(tmp, b"published")
    show("linkat O_TMPFILE", lambda: (raw("linkat", tmp, b(""), AT_FDCWD, b("pub"), AT_EMPTY_PATH),
                                      open("pub", "rb").read(), describe("pub"))[1:])
    excl = os.open(".", os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o640)
    show("linkat O_TMPFILE|O_EXCL", lambda: raw("linkat", excl, b(""), AT_FDCWD, b("pub2"), AT_EMPTY_PATH))
    show("linkat empty path taken", lambda: raw("linkat", tmp, b(""), AT_FDCWD, b("pub"), AT_EMPTY_PATH))
    # symlink / readlink / O_NOFOLLOW
    show("symlink l->f", lambda: os.symlink("f", "l"))
    show("symlink exists", lambda: os.symlink("f", "l"))
    show("symlink dangling", lambda: os.symlink("nowhere", "dang"))
    show("readlink l", lambda: os.readlink("l"))
    show("readlink f", lambda: os.readlink("f"))
    show("open O_NOFOLLOW link", lambda: os.open("l", os.O_RDONLY | os.O_NOFOLLOW))
    show("open through dangling creat", lambda: os.close(os.open("dang", os.O_CREAT | os.O_WRONLY, 0o600)))
    show("dangling target made", lambda: describe("nowhere"))
    show("symlink loop", lambda: (os.symlink("loop", "loop"), os.open("loop", os.O_RDONLY)))
    # link
    show("link f f2", lambda: os.link("f", "f2"))
    show("link dir", lambda: os.link("d", "d2"))
    show("link exists", lambda: os.link("f", "f2"))
    show("link nlink", lambda: os.stat("f").st_nlink)
    show("linkat follow", lambda: raw("linkat", AT_FDCWD, b("l"), AT_FDCWD, b("lf"), 0x400))
    show("linkat nofollow", lambda: raw("linkat", AT_FDCWD, b("l"), AT_FDCWD, b("ll"), 0))
    # mknod
    show("mknod fifo", lambda: os.mkfifo("fifo", 0o600))
    show("mknod reg", lambda: os.mknod("reg", stat.S_IFREG | 0o600))
    show("mknod chr", lambda: os.mknod("chr", stat.S_IFCHR | 0o600, os.makedev(1, 3)) if os.getuid() else raise_(errno.EPERM))
    show("mknod bad type", lambda: raw("mknodat", AT_FDCWD, b("bad"), 0o170000 | 0o600, 0))
    # stat family
    show("stat f", lambda: describe("f"))
    show("lstat l", lambda: describe("l"))
    show("stat l", lambda: os.stat("l").st_size)
    show("stat missing", lambda: os.stat("nope"))
    show("stat f/x", lambda: os.stat("f/x"))
    show("stat empty path", lambda: os.stat(""))
    show("fstatat AT_EMPTY_PATH", lambda: os.stat(os.open("f", os.O_RDONLY)).st_size)
    # access
    show("access f rw", lambda: os.access("f", os.R_OK | os.W_OK))
    show("access f x", lambda: os.access("f", os.X_OK))
    show("faccessat2 bad mode", lambda: raw("faccessat2", AT_FDCWD, b("f"), 8, 0))
    show("access missing", lambda: os.access("nope", os.F_OK))
    # chmod / chown / utimes / truncate
    show("chmod f 600", lambda: (os.chmod("f", 0o600), describe("f"))[1])
    show("chmod missing", lambda: os.chmod("nope", 0o600))
    show("chown f", lambda: (os.chown("f", 1234, 5678), os.stat("f").st_uid, os.stat("f").st_gid)[1:])
    show("lchown l", lambda: (os.lchown("l", 42, 43), os.lstat("l").st_uid)[1])
    show("chown keep", lambda: (os.chown("f", -1, -1), os.stat("f").st_uid)[1])
    show("utime explicit", lambda: (os.utime("f", (1000, 2000)), int(os.stat("f").st_mtime))[1])
    show("utime ns", lambda: (os.utime("f", ns=(5, 123456789)), os.stat("f").st_mtime_ns)[1])
    show("utime nofollow", lambda: (os.utime("l", (7, 8), follow_symlinks=False), int(os.lstat("l").st_mtime))[1])
    show("utimensat bad nsec", lambda: raw("utimensat", AT_FDCWD, b("f"), (ctypes.c_long * 4)(0, 10**9, 0, 0), 0))
    show("truncate f 3", lambda: (os.truncate("f", 3), os.stat("f").st_size)[1])
    show("truncate dir", lambda: os.truncate("d", 0))
    show("truncate negative", lambda: os.truncate("f", -1))
    show("truncate grow", lambda: (os.truncate("f", 10000), os.stat("f").st_size)[1])
    # rename
    show("rename f f3", lambda: os.rename("f", "f3"))
    show("rename missing", lambda: os.rename("nope", "x"))
    show("rename file over dir", lambda: os.rename("f3", "d"))
    show("rename dir over file", lambda: os.rename("d", "f3"))
    show("rename dir into itself", lambda: os.rename("d", "d/sub/x"))
    show("rename dir over nonempty", lambda: (os.mkdir("e"), os.rename("e", "d")))
    show("rename dir over empty", lambda: (os.mkdir("e2"), os.rename("e", "e2")))
    show("renameat2 noreplace", lambda: raw("renameat2", AT_FDCWD, b("f3"), AT_FDCWD, b("f2"), RENAME_NOREPLACE))
    show("renameat2 exchange", lambda: raw("renameat2", AT_FDCWD, b("f3"), AT_FDCWD, b("l"), RENAME_EXCHANGE))
    show("renameat2 exchange missing", lambda: raw("renameat2", AT_FDCWD, b("f3"), AT_FDCWD, b("nope"), RENAME_EXCHANGE))
    show("renameat2 bad flags", lambda: raw("renameat2", AT_FDCWD, b("f3"), AT_FDCWD, b("x"), RENAME_NOREPLACE | RENAME_EXCHANGE))
    show("rename hardlinks to each other", lambda: os.rename("f2", "lf"))
    show("rename .", lambda: os.rename(".", "x"))
    # unlink / rmdir
    show("unlink dir", lambda: os.unlink("d"))
    show("unlink missing", lambda: os.unlink("nope"))
    show("unlink file/", lambda: os.unlink("f2/"))
    show("rmdir file", lambda: os.rmdir("f2"))
    show("rmdir nonempty", lambda: os.rmdir("d"))
    show("rmdir .", lambda: os.rmdir("."))
    show("rmdir ..", lambda: os.rmdir(".."))
    show("unlinkat removedir", lambda: os.rmdir("sub", dir_fd=os.open("d", os.O_RDONLY)))
    show("unlinkat bad flag", lambda: libc.unlinkat(AT_FDCWD, b("d"), 0x1) and raise_(ctypes.get_errno()))
    show("unlink fifo", lambda: os.unlink("fifo"))
    # xattrs
    show("setxattr user", lambda: os.setxattr("f3", "user.k", b"v"))
    show("getxattr", lambda: os.getxattr("f3", "user.k"))
    show("getxattr missing", lambda: os.getxattr("f3", "user.none"))
    show("setxattr create existing", lambda: os.setxattr("f3", "user.k", b"w", os.XATTR_CREATE))
    show("setxattr replace missing", lambda: os.setxattr("f3", "user.z", b"w", os.XATTR_REPLACE))
    show("listxattr", lambda: sorted(os.listxattr("f3")))
    show("removexattr", lambda: os.removexattr("f3", "user.k"))
    show("removexattr again", lambda: os.removexattr("f3", "user.k"))
    show("setxattr other namespace", lambda: os.setxattr("f3", "os2.k", b"v"))
    # cwd
    show("chdir d", lambda: (os.chdir("d"), os.path.basename(os.getcwd()))[1])
    show("chdir file", lambda: os.chdir("../f3"))
    show("chdir ..", lambda: os.chdir(".."))
    show("fchdir", lambda: (os.fchdir(os.open("d", os.O_RDONLY)), os.path.basename(os.getcwd()), os.chdir(".."))[1])
    # openat2 and its RESOLVE_* rules, from a directory fd
    os.makedirs("o/in/deep")
    open("o/in/file", "w").close()
    os.symlink("/etc", "o/abs")
    os.symlink("../../..", "o/in/up")
    os.symlink("in", "o/rel")
    dirfd = os.open("o", os.O_RDONLY | os.O_DIRECTORY)
    for path, resolve in [("in/file", 0), ("../f3", "BENEATH"), ("abs", "BENEATH"), ("in/up", "BENEATH"),
                          ("in/../in/file", "BENEATH"), ("abs/passwd", "IN_ROOT"), ("in/up/in/file", "IN_ROOT"),
                          ("/in/file", "IN_ROOT"), ("/in/file", "BENEATH"), ("rel/file", "NO_SYMLINKS"),
                          ("rel/file", 0), ("/proc/self/exe", "NO_MAGICLINKS"),
                          ("/proc/self/status", "NO_MAGICLINKS"), ("/proc/self", "NO_XDEV")]:
        how = (ctypes.c_uint64 * 3)(os.O_RDONLY, 0, RESOLVE.get(resolve, 0))
        show(f"openat2 {path} {resolve}", lambda: (os.close(raw("openat2", dirfd, b(path), how, 24)), "ok")[1])
    for label, how, size in [("small size", (os.O_RDONLY, 0, 0), 16), ("unknown flag", (1 << 40, 0, 0), 24),
                             ("mode without O_CREAT", (os.O_RDONLY, 0o644, 0), 24),
                             ("BENEATH|IN_ROOT", (os.O_RDONLY, 0, 8 | 16), 24),
                             ("bad resolve bit", (os.O_RDONLY, 0, 1 << 10), 24)]:
        show(f"openat2 {label}", lambda: raw("openat2", dirfd, b("in/file"), (ctypes.c_uint64 * 4)(*how, 0), size))
    show("openat2 creat beneath", lambda: (os.close(raw("openat2", dirfd, b("in/new"), (ctypes.c_uint64 * 3)(
        os.O_CREAT | os.O_WRONLY, 0o600, RESOLVE["BENEATH"]), 24)), describe("o/in/new"))[1])
    # statfs and directory listing
    show("statvfs namemax", lambda: os.statvfs(".").f_namemax)
    show("listdir", lambda: sorted(os.listdir(".")))
    print("tree:\n  " + tree("."))


def raise_(err):
    raise OSError(err, os.strerror(err))


if __name__ == "__main__":
    main(sys.argv[1])
