"""inotify_events.py DIR: watch DIR, change things in it, print the events read back."""
import ctypes, os, struct, sys, select
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
fd = libc.inotify_init1(os.O_NONBLOCK)
wd = libc.inotify_add_watch(fd, os.fsencode(d), 0xFFF)
wd2 = libc.inotify_add_watch(fd, os.fsencode(d), 0xFFF)
print("wd", wd, wd2)
open(f"{d}/a", "w").write("x")
os.mkdir(f"{d}/sub"); os.rename(f"{d}/a", f"{d}/b"); os.chmod(f"{d}/b", 0o600); os.unlink(f"{d}/b"); os.rmdir(f"{d}/sub")
print(select.select([fd], [], [], 1)[0] == [fd])
data = os.read(fd, 65536)
names = {0x1: "ACCESS", 0x2: "MODIFY", 0x4: "ATTRIB", 0x8: "CLOSE_WRITE", 0x10: "CLOSE_NOWRITE", 0x20: "OPEN", 0x40: "MOVED_FROM", 0x80: "MOVED_TO", 0x100: "CREATE", 0x200: "DELETE", 0x40000000: "ISDIR"}
cookies = {}
while data:
    w, mask, cookie, ln = struct.unpack_from("<iIII", data)
    name = data[16:16+ln].rstrip(b"\0").decode()
    data = data[16+ln:]
    flags = "|".join(v for k, v in names.items() if mask & k)
    print(w, flags, name, "cookie" if cookie else "")
print(libc.inotify_rm_watch(fd, wd), libc.inotify_rm_watch(fd, wd))
