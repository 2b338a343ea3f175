"""o_path_ops.py DIR: every call on an O_PATH fd, by raw syscall, one line each.

Linux lets an O_PATH fd name a file and nothing more (fs/open.c,
fs/file.c's fget/fget_raw): fstat, fstatfs, fchdir, dup, fcntl's
F_GETFL/F_[GS]ETFD/F_DUPFD, close, *at calls with it as dirfd or with
AT_EMPTY_PATH, /proc/self/fd/N; every data or attribute call through the fd
itself is EBADF. Each line is the call and its result or errno name, so the
same program natively and in the sandbox must print the same lines. Only
paths under DIR are made or named.
"""
import ctypes
import errno
import os
import select
import stat
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
L = ctypes.c_long
NR = {"read": 0, "write": 1, "lseek": 8, "ioctl": 16, "pread64": 17, "pwrite64": 18, "readv": 19,
      "writev": 20, "sendfile": 40, "fcntl": 72, "flock": 73, "fsync": 74, "fdatasync": 75,
      "ftruncate": 77, "fchdir": 81, "fchmod": 91, "fchown": 93, "fstatfs": 138, "readahead": 187,
      "fsetxattr": 190, "fgetxattr": 193, "flistxattr": 196, "fremovexattr": 199,
      "getdents64": 217, "fadvise64": 221, "epoll_ctl": 233, "utimensat": 280, "fchownat": 260,
      "fchmodat": 268, "linkat": 265, "faccessat2": 439, "splice": 275, "sync_file_range": 277,
      "fallocate": 285, "preadv": 295, "pwritev": 296, "syncfs": 306, "copy_file_range": 326,
      "preadv2": 327, "pwritev2": 328, "dup": 32, "dup2": 33, "dup3": 292, "close": 3,
      "newfstatat": 262, "statx": 332, "openat": 257, "mkdirat": 258, "unlinkat": 263}
AT_EMPTY_PATH = 0x1000
top = sys.argv[1]
buf = ctypes.create_string_buffer(4096)
iov = (ctypes.c_char_p * 2)(ctypes.cast(buf, ctypes.c_char_p), ctypes.c_char_p(64))


def sc(name, *args):
    rc = libc.syscall(L(NR[name]), *[a if isinstance(a, (bytes, ctypes.Array, ctypes.c_char_p))
                                      else L(a) for a in args])
    return rc if rc >= 0 else -ctypes.get_errno()


def show(label, rc):
    print(f"  {label}: {errno.errorcode.get(-rc, -rc) if rc < 0 else rc}")


def probe(fd, is_dir):
    show("read", sc("read", fd, buf, 1))
    show("write", sc("write", fd, b"x", 1))
    show("pread64", sc("pread64", fd, buf, 1, 0))
    show("pwrite64", sc("pwrite64", fd, b"x", 1, 0))
    show("readv", sc("readv", fd, iov, 1))
    show("writev", sc("writev", fd, iov, 1))
    show("preadv", sc("preadv", fd, iov, 1, 0, 0))
    show("pwritev", sc("pwritev", fd, iov, 1, 0, 0))
    show("preadv2", sc("preadv2", fd, iov, 1, 0, 0, 0))
    show("pwritev2", sc("pwritev2", fd, iov, 1, 0, 0, 0))
    show("lseek", sc("lseek", fd, 0, 0))
    addr = libc.mmap(None, 4096, 1, 2, fd, 0)  # PROT_READ, MAP_PRIVATE
    show("mmap", 0 if addr not in (None, ctypes.c_void_p(-1).value) else -ctypes.get_errno())
    show("getdents64", sc("getdents64", fd, buf, 4096))
    show("ioctl FIONREAD", sc("ioctl", fd, 0x541B, buf))
    show("ioctl FIOCLEX", sc("ioctl", fd, 0x5451, 0))
    show("ioctl TCGETS", sc("ioctl", fd, 0x5401, buf))
    show("fchmod", sc("fchmod", fd, 0o600))
    show("fchown", sc("fchown", fd, os.getuid(), -1))
    show("fsetxattr", sc("fsetxattr", fd, b"user.k", b"v", 1, 0))
    show("fgetxattr", sc("fgetxattr", fd, b"user.k", buf, 64))
    show("flistxattr", sc("flistxattr", fd, buf, 64))
    show("fremovexattr", sc("fremovexattr", fd, b"user.k"))
    show("ftruncate", sc("ftruncate", fd, 0))
    show("fallocate", sc("fallocate", fd, 0, 0, 1))
    show("fsync", sc("fsync", fd))
    show("fdatasync", sc("fdatasync", fd))
    show("syncfs", sc("syncfs", fd))
    show("sync_file_range", sc("sync_file_range", fd, 0, 0, 0))
    show("fadvise64", sc("fadvise64", fd, 0, 0, 0))
    show("readahead", sc("readahead", fd, 0, 1))
    show("flock", sc("flock", fd, 1))  # LOCK_SH
    lock = ctypes.create_string_buffer(32)  # struct flock, F_RDLCK of everything
    show("fcntl F_SETLK", sc("fcntl", fd, 6, lock))
    show("fcntl F_GETLK", sc("fcntl", fd, 5, lock))
    show("fcntl F_SETFL", sc("fcntl", fd, 4, os.O_NONBLOCK))
    show("fcntl F_GETFL", sc("fcntl", fd, 3, 0))
    show("fcntl F_SETFD", sc("fcntl", fd, 2, 1))
    show("fcntl F_GETFD", sc("fcntl", fd, 1, 0))
    show("fcntl F_SETFD 0", sc("fcntl", fd, 2, 0))
    show("fcntl F_GETOWN", sc("fcntl", fd, 9, 0))
    show("ioctl FIOCLEX then F_GETFD", sc("fcntl", fd, 1, 0))
    r, w = os.pipe()
    show("sendfile from", sc("sendfile", w, fd, 0, 1))
    show("sendfile to", sc("sendfile", fd, r, 0, 1))
    show("splice from", sc("splice", fd, 0, w, 0, 1, 0))
    show("copy_file_range", sc("copy_file_range", fd, 0, fd, 0, 1, 0))
    os.close(r)
    os.close(w)
    ep = select.epoll()
    show("epoll_ctl", sc("epoll_ctl", ep.fileno(), 1, fd, buf))
    ep.close()
    print("  poll", [(f == fd, ev) for f, ev in _poll(fd)])
    try:
        select.select([fd], [], [], 0)
        print("  select: ok")
    except OSError as exc:
        print("  select:", errno.errorcode[exc.errno])
    st = os.fstat(fd)
    print("  fstat", stat.filemode(st.st_mode), st.st_nlink, st.st_size if not is_dir else "-")
    show("fstatfs", sc("fstatfs", fd, buf))
    show("fchdir", sc("fchdir", fd))
    os.chdir(top)
    show("statx empty", sc("statx", fd, b"", AT_EMPTY_PATH, 0xFFF, buf))
    show("fstatat empty", sc("newfstatat", fd, b"", buf, AT_EMPTY_PATH))
    show("faccessat2 empty", sc("faccessat2", fd, b"", 4, AT_EMPTY_PATH))
    show("fchownat empty", sc("fchownat", fd, b"", os.getuid(), -1, AT_EMPTY_PATH))
    show("utimensat NULL", sc("utimensat", fd, 0, 0, 0))
    show("utimensat empty", sc("utimensat", fd, b"", 0, AT_EMPTY_PATH))
    print("  link", os.readlink(f"/proc/self/fd/{fd}").replace(top, "TOP"))
    d = sc("dup", fd)
    print("  dup F_GETFL", oct(sc("fcntl", d, 3, 0)), "read", sc("read", d, buf, 1))
    show("close dup", sc("close", d))
    free = 200
    show("dup2 to free", sc("dup2", fd, free) - free)
    show("read dup2", sc("read", free, buf, 1))
    show("close dup2", sc("close", free))
    show("dup3 cloexec", sc("dup3", fd, free, os.O_CLOEXEC) - free)
    show("dup3 F_GETFD", sc("fcntl", free, 1, 0))
    show("close dup3", sc("close", free))
    show("F_DUPFD", sc("fcntl", fd, 0, free) - free)
    show("close F_DUPFD", sc("close", free))
    show("close twice", sc("close", free))


def _poll(fd):
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLOUT)
    return p.poll(0)


os.makedirs(f"{top}/d")
with open(f"{top}/d/f", "w") as f:
    f.write("content\n")
os.symlink("f", f"{top}/d/l")
for name, flags in [("d", 0), ("d/f", 0), ("d/l", os.O_NOFOLLOW)]:
    print(name)
    fd = os.open(f"{top}/{name}", os.O_PATH | flags)
    probe(fd, name == "d")
    show("close", sc("close", fd))

print("at calls")
dfd = os.open(f"{top}/d", os.O_PATH | os.O_DIRECTORY)
show("openat", (lambda fd: os.close(fd) or 0)(sc("openat", dfd, b"f", os.O_RDONLY)))
show("mkdirat", sc("mkdirat", dfd, b"sub", 0o755))
show("unlinkat", sc("unlinkat", dfd, b"sub", 0x200))
ffd = os.open(f"{top}/d/f", os.O_PATH)
show("linkat empty", sc("linkat", ffd, b"", dfd, b"g", AT_EMPTY_PATH))
print("  linked", open(f"{top}/d/g").read().strip(), os.stat(f"{top}/d/f").st_nlink)
show("openat on file fd", sc("openat", ffd, b"x", os.O_RDONLY))
show("openat empty", sc("openat", ffd, b"", os.O_RDONLY))
print("  reopen", open(f"/proc/self/fd/{ffd}").read().strip())
wfd = os.open(f"/proc/self/fd/{ffd}", os.O_WRONLY | os.O_APPEND)
os.write(wfd, b"more\n")
os.close(wfd)
print("  after append", open(f"{top}/d/f").read().split())
show("fchdir file", sc("fchdir", ffd))
info = open(f"/proc/self/fdinfo/{ffd}").read().split("\n")
print("  fdinfo", [line for line in info if line.startswith(("pos", "flags"))])
busy = os.open(f"{top}/d/g", os.O_RDONLY)  # dup2 over an open file: the file goes
show("dup2 over open", sc("dup2", ffd, busy) - busy)
print("  over open: read", sc("read", busy, buf, 1), "write", sc("write", busy, b"x", 1),
      "F_GETFL", oct(sc("fcntl", busy, 3, 0)), "fstat", os.fstat(busy).st_nlink)
show("close it", sc("close", busy))
how = ctypes.create_string_buffer(24)
ctypes.memmove(how, (os.O_PATH | os.O_RDWR).to_bytes(8, "little"), 8)
show("openat2 O_PATH|O_RDWR", libc.syscall(L(437), L(-100), top.encode(), how, L(24))
     and -ctypes.get_errno())
ctypes.memmove(how, os.O_PATH.to_bytes(8, "little"), 8)
show("openat2 empty", libc.syscall(L(437), L(ffd), b"", how, L(24)) and -ctypes.get_errno())
show("O_PATH|O_CREAT", sc("openat", -100, f"{top}/made".encode(), os.O_PATH | os.O_CREAT, 0o644))
print("  made", os.path.exists(f"{top}/made"))
tfd = sc("openat", -100, f"{top}/d".encode(), os.O_PATH | os.O_TMPFILE | os.O_RDWR, 0o600)
print("  O_PATH|O_TMPFILE F_GETFL", oct(sc("fcntl", tfd, 3, 0)), sorted(os.listdir(f"{top}/d")))
# An open the C fast path may replay (a rootfs file opened read-only, twice)
# must never take the number an O_PATH fd holds while the host slot is empty.
for _ in range(3):
    os.close(os.open(sys.executable, os.O_RDONLY))
low = os.open(f"{top}/d", os.O_PATH)
again = os.open(sys.executable, os.O_RDONLY)
print("  replayed open after O_PATH", again - low, stat.S_ISDIR(os.fstat(low).st_mode),
      stat.S_ISREG(os.fstat(again).st_mode))
os.close(again)
os.close(low)
pid = os.fork()
if pid == 0:  # a child inherits the O_PATH fds
    print("child fstat", stat.filemode(os.fstat(ffd).st_mode), "read", sc("read", ffd, buf, 1),
          flush=True)
    os._exit(0)
os.waitpid(pid, 0)
os.set_inheritable(ffd, True)
os.execv(sys.executable, [sys.executable, "-c", f"""
import os, stat, ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(8)
rc = libc.read({ffd}, buf, 1)
print("after exec fstat", stat.filemode(os.fstat({ffd}).st_mode), "read",
      rc if rc >= 0 else errno.errorcode[ctypes.get_errno()])
try:
    os.fstat({dfd})
except OSError as exc:
    print("cloexec fd", errno.errorcode[exc.errno])
"""])
