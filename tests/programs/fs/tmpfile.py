"""tmpfile.py DIR [space]: O_TMPFILE files, their names and their bytes.

An O_TMPFILE file has no name; without O_EXCL linkat(fd, "", AT_EMPTY_PATH)
or linkat of /proc/self/fd/N with AT_SYMLINK_FOLLOW gives it one, with
O_EXCL linking is ENOENT. Its bytes live as long as an fd does (or a
name): with `space` (DIR on a tmpfs) the program also prints how much of
the filesystem files it wrote to and closed, unlinked, still hold. Only
paths under DIR are made.
"""
import ctypes
import errno
import os
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_EMPTY_PATH, AT_SYMLINK_FOLLOW = -100, 0x1000, 0x400
top = sys.argv[1]
os.makedirs(top)


def linkat(fd, old, new, flags):
    rc = libc.linkat(fd, old.encode(), AT_FDCWD, new.encode(), flags)
    return "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()]


def tmpfile(data: bytes, excl: bool = False) -> int:
    fd = os.open(top, os.O_TMPFILE | os.O_RDWR | (os.O_EXCL if excl else 0), 0o640)
    os.write(fd, data)
    return fd


def show(name):
    try:
        with open(f"{top}/{name}", "rb") as f:
            print(" ", name, f.read(), oct(os.stat(f"{top}/{name}").st_mode))
    except OSError as exc:
        print(" ", name, errno.errorcode[exc.errno])


fd = tmpfile(b"one")
print("fstat nlink", os.fstat(fd).st_nlink, "listing", os.listdir(top))
print("link empty", linkat(fd, "", f"{top}/a", AT_EMPTY_PATH), "nlink", os.fstat(fd).st_nlink)
show("a")
print("link again", linkat(fd, "", f"{top}/a2", AT_EMPTY_PATH), "nlink", os.fstat(fd).st_nlink)
os.unlink(f"{top}/a")
os.unlink(f"{top}/a2")
print("after unlinking both: link", linkat(fd, "", f"{top}/a3", AT_EMPTY_PATH))
os.close(fd)

fd = tmpfile(b"two")
print("link by /proc", linkat(AT_FDCWD, f"/proc/self/fd/{fd}", f"{top}/b", AT_SYMLINK_FOLLOW))
show("b")
os.close(fd)

fd = tmpfile(b"three", excl=True)
print("O_EXCL: link empty", linkat(fd, "", f"{top}/c", AT_EMPTY_PATH),
      "by /proc", linkat(AT_FDCWD, f"/proc/self/fd/{fd}", f"{top}/c", AT_SYMLINK_FOLLOW))
os.write(fd, b" more")
print("O_EXCL: bytes", os.pread(fd, 64, 0))
os.close(fd)
show("c")

fd = tmpfile(b"four")
pid = os.fork()
if pid == 0:  # the child's copy keeps the file after the parent closes its own
    time.sleep(0.2)
    print("child links", linkat(fd, "", f"{top}/d", AT_EMPTY_PATH), flush=True)
    os._exit(0)
os.close(fd)
os.waitpid(pid, 0)
show("d")

fd = tmpfile(b"five")
os.write(fd, b"x" * 10000)
os.ftruncate(fd, 3)
print("truncated then linked", linkat(fd, "", f"{top}/e", AT_EMPTY_PATH))
os.close(fd)
show("e")
print("listing", sorted(os.listdir(top)))

if "space" in sys.argv[2:]:
    def used() -> int:
        st = os.statvfs(top)
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    before = used()
    for _ in range(8):
        os.close(tmpfile(b"z" * (1 << 20)))
    print("MiB still used after closing 8 unlinked 1 MiB tmpfiles",
          round((used() - before) / (1 << 20)))
    fd = tmpfile(b"z" * (1 << 20))
    print("MiB used while one is open", round((used() - before) / (1 << 20)))
    os.close(fd)
