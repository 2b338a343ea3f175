"""inotify_io.py DIR OPS [MASKS]: watch files under DIR, read and write them, print the events.

DIR gets directories a/, b/ and c/ and files a/f, a/h and c/k (each made
unless it exists: a caller may make them beforehand, as rootfs files under
an overlay) and b/g, a hard link of a/f. The program watches a/, b/ and
a/f (MASKS, a JSON list of three masks, default all events), runs OPS (a
JSON list of steps, below), then makes DIR/end (a watch of DIR for IN_CREATE
alone sees it) and prints every event before that one, one a line: wd,
mask, name.

Steps: [kind, name, (count)] with kind
  write, append, read  open, one write (O_APPEND) or read, close
  rdwr                 open O_RDWR, one pwrite, one pread, close
  trunc                open O_WRONLY|O_TRUNC, close
  ftruncate            open O_WRONLY, ftruncate to count, close
  mmap                 open O_RDWR, map, store a byte, msync, unmap, close
  sendfile             open name and a/h, sendfile count bytes from name to a/h, close both
  child                a child process opens name, writes, reads, exits without closing
  inherited            a child writes through the parent's fd; the parent closes it later
  held                 opens name for writing and keeps it open (closed at the end)
  create               open O_CREAT|O_WRONLY, one write, close
  link NEW             a hard link NEW of name
  move NEW             rename name to NEW
  unlink               unlink name through an open fd, write through it, close
  list                 list the directory name
  touch                utimensat: count 0 both times, 1 the access time, 2 the modification time
  rmwatch              remove the watch with wd count
  watch                add (or change) a watch of name with mask count; prints its wd
A step that fails prints its errno name instead.

One native access of a kind at a time between calls: the host merges
back-to-back identical events before the sentry reads them (docs/compatibility.md).
"""
import ctypes
import errno
import json
import mmap
import os
import select
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
NAMES = {0x1: "ACCESS", 0x2: "MODIFY", 0x4: "ATTRIB", 0x8: "CLOSE_WRITE", 0x10: "CLOSE_NOWRITE",
         0x20: "OPEN", 0x40: "MOVED_FROM", 0x80: "MOVED_TO", 0x100: "CREATE", 0x200: "DELETE",
         0x400: "DELETE_SELF", 0x800: "MOVE_SELF", 0x4000: "Q_OVERFLOW", 0x8000: "IGNORED",
         0x40000000: "ISDIR"}

d = sys.argv[1]
ops = json.loads(sys.argv[2])
masks = json.loads(sys.argv[3]) if len(sys.argv) > 3 else [0xFFF] * 3
p = lambda name: os.path.join(d, name)
for sub in "abc":
    os.makedirs(p(sub), exist_ok=True)
for name in ("a/f", "a/h", "c/k"):
    if not os.path.exists(p(name)):
        with open(p(name), "w") as f:
            f.write("hello, " + name)
if not os.path.exists(p("b/g")):
    os.link(p("a/f"), p("b/g"))

ino = libc.inotify_init1(os.O_NONBLOCK)
wds = [libc.inotify_add_watch(ino, os.fsencode(p(name)), mask) for name, mask in zip("ab", masks)]
wds.append(libc.inotify_add_watch(ino, os.fsencode(p("a/f")), masks[2]))
print("wds", wds)
marker = libc.inotify_add_watch(ino, os.fsencode(d), 0x100)  # IN_CREATE
held = []


def step(kind, name, arg=0):
    if kind in ("write", "append", "read", "create"):
        flags = {"write": os.O_WRONLY, "append": os.O_WRONLY | os.O_APPEND, "read": os.O_RDONLY,
                 "create": os.O_WRONLY | os.O_CREAT}[kind]
        fd = os.open(p(name), flags, 0o644)
        os.read(fd, arg or 1) if kind == "read" else os.write(fd, b"x" * (arg or 1))
        os.close(fd)
    elif kind == "rdwr":
        fd = os.open(p(name), os.O_RDWR)
        os.pwrite(fd, b"y" * (arg or 1), 0)
        os.pread(fd, 4, 0)
        os.close(fd)
    elif kind == "trunc":
        os.close(os.open(p(name), os.O_WRONLY | os.O_TRUNC))
    elif kind == "ftruncate":
        fd = os.open(p(name), os.O_WRONLY)
        os.ftruncate(fd, arg)
        os.close(fd)
    elif kind == "mmap":
        fd = os.open(p(name), os.O_RDWR)
        if os.fstat(fd).st_size:
            with mmap.mmap(fd, 0) as m:  # (it maps a dup of fd: two closes, one last)
                m[0:1] = b"M"
                m.flush()
        os.close(fd)
    elif kind == "sendfile":
        src, dst = os.open(p(name), os.O_RDONLY), os.open(p("a/h"), os.O_WRONLY)
        os.sendfile(dst, src, 0, arg or 1)
        os.close(src)
        os.close(dst)
    elif kind == "child":
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(p(name), os.O_RDWR)
                os.write(fd, b"child")
                os.pread(fd, 4, 0)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    elif kind == "inherited":
        fd = os.open(p(name), os.O_RDWR)
        pid = os.fork()
        if pid == 0:
            try:
                os.write(fd, b"inherited")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        os.close(fd)
    elif kind == "held":
        held.append(os.open(p(name), os.O_WRONLY))
    elif kind == "link":
        os.link(p(name), p(arg))
    elif kind == "move":
        os.rename(p(name), p(arg))
    elif kind == "unlink":
        fd = os.open(p(name), os.O_RDWR)
        os.unlink(p(name))
        os.write(fd, b"after")
        os.close(fd)
    elif kind == "list":
        os.listdir(p(name))
    elif kind == "touch":
        omit = ctypes.c_long((1 << 30) - 2)  # UTIME_OMIT
        times = (ctypes.c_long * 4)(5, 0 if arg != 2 else omit.value, 7, 0 if arg != 1 else omit.value)
        if libc.utimensat(-100, os.fsencode(p(name)), times, 0) < 0:
            raise OSError(ctypes.get_errno(), "utimensat")
    elif kind == "rmwatch":
        if libc.inotify_rm_watch(ino, arg) < 0:
            raise OSError(ctypes.get_errno(), "inotify_rm_watch")
    elif kind == "watch":
        wd = libc.inotify_add_watch(ino, os.fsencode(p(name)), ctypes.c_uint32(arg))
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        print("watch", name, wd)


for op in ops:
    try:
        step(*op)
    except OSError as exc:
        print(op, errno.errorcode[exc.errno])
for fd in held:
    os.write(fd, b"held")
    os.close(fd)
os.mkdir(p("end"))  # a call the sentry answers: every native access before it is in the queue
MARK = struct.pack("<iIII", marker, 0x40000100, 0, 16) + b"end" + bytes(13)

data = b""
while not data.endswith(MARK):
    if not select.select([ino], [], [], 10)[0]:
        print("timed out")
        break
    data += os.read(ino, 65536)
at = 0
while at < len(data):
    wd, mask, cookie, length = struct.unpack_from("<iIII", data, at)
    name = data[at + 16:at + 16 + length].rstrip(b"\0").decode()
    at += 16 + length
    if wd == marker:
        continue
    print(wd, "|".join(v for k, v in NAMES.items() if mask & k), name, "cookie" if cookie else "")
