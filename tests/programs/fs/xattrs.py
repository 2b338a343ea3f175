"""Extended attributes as Linux's VFS judges them, each step a line.

    python3 xattrs.py DIR      (as root; DIR empty, on a tmpfs natively)

Names (empty or longer than 255: ERANGE; an unknown namespace: ENOTSUP),
create/replace flags, sizes, user.* only on files and directories,
trusted.* hidden from and refused to a caller without CAP_SYS_ADMIN, and
user.* by read and write permission, a sticky directory's by its owner
(xattr_permission()). Run natively and sandboxed, the outputs must match
(tests/differential/test_xattrs.py).
"""
import errno
import os
import sys


def show(label, fn):
    try:
        out = fn()
    except OSError as exc:
        out = errno.errorcode.get(exc.errno, exc.errno)
    print(f"{label}: {out}", flush=True)


def as_root():
    open("f", "w").close()
    os.symlink("f", "l")
    os.mkdir("d")
    show("set user", lambda: os.setxattr("f", "user.a", b"1"))
    show("get user", lambda: os.getxattr("f", "user.a"))
    show("get missing", lambda: os.getxattr("f", "user.zz"))
    show("set trusted", lambda: os.setxattr("f", "trusted.a", b"1"))
    show("get trusted", lambda: os.getxattr("f", "trusted.a"))
    show("set unknown namespace", lambda: os.setxattr("f", "bogus.a", b"1"))
    show("set long name", lambda: os.setxattr("f", "user." + "n" * 300, b"1"))
    show("get long name", lambda: os.getxattr("f", "user." + "n" * 300))
    show("get 255-byte name", lambda: os.getxattr("f", "user." + "n" * 250))
    show("set empty name", lambda: os.setxattr("f", "", b"1"))
    show("set user on a symlink", lambda: os.setxattr("l", "user.b", b"1", follow_symlinks=False))
    show("get user of a symlink", lambda: os.getxattr("l", "user.b", follow_symlinks=False))
    show("list", lambda: sorted(os.listxattr("f")))
    show("create existing", lambda: os.setxattr("f", "user.a", b"2", os.XATTR_CREATE))
    show("replace missing", lambda: os.setxattr("f", "user.q", b"2", os.XATTR_REPLACE))
    show("remove missing", lambda: os.removexattr("f", "user.q"))
    show("set on a directory", lambda: os.setxattr("d", "user.a", b"1"))
    show("too big a value", lambda: os.setxattr("f", "user.big", b"x" * 70000))
    for name, mode in (("ro", 0o444), ("private", 0o600), ("shared", 0o666)):
        open(name, "w").close()
        os.setxattr(name, "user.k", b"v")
        os.chmod(name, mode)
    os.mkdir("sticky", 0o1777)
    os.chmod("sticky", 0o1777)
    os.mkdir("open_dir", 0o777)
    os.chmod("open_dir", 0o777)


def as_user():
    show("uid 1000 get user", lambda: os.getxattr("f", "user.a"))
    show("uid 1000 set user on another's 0644 file", lambda: os.setxattr("f", "user.c", b"1"))
    show("uid 1000 get trusted", lambda: os.getxattr("f", "trusted.a"))
    show("uid 1000 set trusted", lambda: os.setxattr("f", "trusted.c", b"1"))
    show("uid 1000 remove trusted", lambda: os.removexattr("f", "trusted.a"))
    show("uid 1000 list", lambda: sorted(os.listxattr("f")))
    show("uid 1000 get user of a 0600 file", lambda: os.getxattr("private", "user.k"))
    show("uid 1000 set user of a 0666 file", lambda: os.setxattr("shared", "user.c", b"1"))
    show("uid 1000 set user on a sticky directory", lambda: os.setxattr("sticky", "user.c", b"1"))
    show("uid 1000 set user on a 0777 directory", lambda: os.setxattr("open_dir", "user.c", b"1"))
    open("mine", "w").close()
    os.chmod("mine", 0o444)
    show("uid 1000 set user on its own 0444 file", lambda: os.setxattr("mine", "user.c", b"1"))


def main(top):
    os.chmod(top, 0o777)
    os.chdir(top)
    as_root()
    show("root set user on a 0444 file", lambda: os.setxattr("ro", "user.c", b"1"))
    pid = os.fork()
    if pid == 0:
        os.setgroups([])
        os.setgid(1000)
        os.setuid(1000)
        as_user()
        os._exit(0)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    main(sys.argv[1])
