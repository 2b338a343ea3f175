"""Mount namespaces and mount(2)/umount2(2), as a program sees them.

Run as root with a scratch directory: natively (in a private mount
namespace, tests/differential/test_mounts.py) and sandboxed; it prints
what it observes, and the two outputs must be the same. Every step runs
in a child that made its own mount namespace, so the parent also checks
that nothing the child mounted is visible outside it.
"""
import ctypes
import errno
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NOEXEC, MS_REMOUNT = 1, 2, 8, 32
MS_BIND, MS_MOVE, MS_REC = 4096, 8192, 16384
MS_PRIVATE, MS_SHARED, MS_UNBINDABLE = 1 << 18, 1 << 20, 1 << 17
MNT_DETACH, MNT_EXPIRE = 2, 4


def mount(source, target, fstype, flags=0, data=None) -> str:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    rc = libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data))
    return "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()]


def umount(target, flags=0) -> str:
    rc = libc.umount2(target.encode(), flags)
    return "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()]


def unshare(flags) -> str:
    rc = libc.unshare(flags)
    return "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()]


def mountinfo(path):
    """This mount point's line of /proc/self/mountinfo: options and type (the
    ids, the device and the root differ between any two systems)."""
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        if fields[4] == path:
            sep = fields.index("-")
            return fields[5].split(","), fields[sep + 1]
    return None


def attempt(call, *args):
    try:
        return call(*args)
    except OSError as exc:
        return errno.errorcode[exc.errno]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return "ok"


def in_child(step):
    """Run step() in a child with a mount namespace of its own; print its lines."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out = os.fdopen(w, "w")
        try:
            print("unshare:", unshare(CLONE_NEWNS), file=out)
            step(out)
        except Exception as exc:   # noqa: BLE001 - shown, and compared
            print("raised:", type(exc).__name__, exc, file=out)
        out.flush()
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        sys.stdout.write(f.read())
    os.waitpid(pid, 0)


def tmpfs_step(top):
    def step(out):
        a = f"{top}/a"
        print("ns differs:", os.readlink("/proc/self/ns/mnt") != PARENT_NS, file=out)
        print("bad option:", mount("none", a, "tmpfs", 0, "bogus=1"), file=out)
        print("no such type:", mount("none", a, "nosuchfs"), file=out)
        print("on a file:", mount("none", f"{top}/file", "tmpfs"), file=out)
        print("missing:", mount("none", f"{top}/nowhere", "tmpfs"), file=out)
        print("mount:", mount("none", a, "tmpfs", MS_NOSUID, "size=1m,mode=0750"), file=out)
        st = os.stat(a)
        print("mode:", oct(st.st_mode), "dev differs:", st.st_dev != os.stat(top).st_dev, file=out)
        print("empty:", os.listdir(a), write(f"{a}/x", "hello"), sorted(os.listdir(a)), file=out)
        vfs = os.statvfs(a)
        print("size:", vfs.f_blocks * vfs.f_frsize, "nosuid:", bool(vfs.f_flag & 2), file=out)
        print("mountinfo:", mountinfo(a), file=out)
        print("stacked:", mount("none", a, "tmpfs"), os.listdir(a), file=out)
        print("umount top:", umount(a), os.listdir(a), file=out)
        print("not a mount:", umount(f"{top}/sub"), file=out)
        print("bad flags:", umount(a, 0x100), file=out)
        fd = os.open(f"{a}/x", os.O_RDONLY)
        print("busy:", umount(a), file=out)
        os.close(fd)
        os.chdir(a)
        print("cwd busy:", umount(a), file=out)
        os.chdir("/")
        print("expire:", umount(a, MNT_EXPIRE), umount(a, MNT_EXPIRE), os.listdir(a), file=out)
        mount("none", a, "tmpfs")
        os.mkdir(f"{a}/sub")
        print("beneath:", mount("none", f"{a}/sub", "tmpfs"), write(f"{a}/sub/s", "s"), file=out)
        print("covered:", mount("none", a, "tmpfs"), os.listdir(a), umount(a),
              os.listdir(f"{a}/sub"), umount(a), umount(f"{a}/sub"), umount(a), file=out)
    return step


def bind_step(top):
    def step(out):
        src, b = f"{top}/src", f"{top}/b"
        print("dir on file:", mount(src, f"{top}/file", None, MS_BIND), file=out)
        print("bind:", mount(src, b, None, MS_BIND), sorted(os.listdir(b)), file=out)
        print("same dev:", os.stat(f"{b}/f").st_dev == os.stat(f"{src}/f").st_dev,
              "same ino:", os.stat(f"{b}/f").st_ino == os.stat(f"{src}/f").st_ino, file=out)
        print("write through:", write(f"{b}/new", "n"), open(f"{src}/new").read(), file=out)
        print("remount ro:", mount(None, b, None, MS_REMOUNT | MS_BIND | MS_RDONLY), file=out)
        print("ro write:", attempt(write, f"{b}/other", "x"), "ro flag:",
              bool(os.statvfs(b).f_flag & 1), file=out)
        print("source still rw:", attempt(write, f"{src}/other", "x"), file=out)
        print("mountinfo:", mountinfo(b)[0], file=out)   # (its type is the scratch's)
        print("remount rw:", mount(None, b, None, MS_REMOUNT | MS_BIND), attempt(write, f"{b}/third", "x"), file=out)
        print("remount not root:", mount(None, f"{b}/d", None, MS_REMOUNT | MS_BIND), file=out)
        print("sub mount:", mount("none", f"{src}/d", "tmpfs"), write(f"{src}/d/inner", "i"), file=out)
        print("plain bind:", mount(src, f"{top}/c", None, MS_BIND), os.listdir(f"{top}/c/d"), file=out)
        print("rbind:", mount(src, f"{top}/e", None, MS_BIND | MS_REC), os.listdir(f"{top}/e/d"), file=out)
        print("umount with sub-mount:", umount(f"{top}/e"), file=out)
        print("detach:", umount(f"{top}/e", MNT_DETACH), sorted(os.listdir(f"{top}/e")), file=out)
        print("file bind:", mount(f"{src}/f", f"{top}/file", None, MS_BIND), open(f"{top}/file").read(), file=out)
        print("private:", mount(None, b, None, MS_PRIVATE), "two kinds:",
              mount(None, b, None, MS_PRIVATE | MS_SHARED), "not root:",
              mount(None, f"{b}/d", None, MS_PRIVATE), file=out)
        print("shared:", mount(None, b, None, MS_SHARED), "shared shown:",
              any(f.startswith("shared:") for f in open("/proc/self/mountinfo").read().split()), file=out)
        print("move:", mount(f"{top}/c", f"{top}/g", None, MS_MOVE), sorted(os.listdir(f"{top}/g")),
              sorted(os.listdir(f"{top}/c")), file=out)
        print("move into itself:", mount(f"{top}/g", f"{top}/g/d", None, MS_MOVE), file=out)
        print("proc:", mount("proc", f"{top}/p", "proc"), os.path.exists(f"{top}/p/self/status"),
              os.readlink(f"{top}/p/self") == str(os.getpid()), file=out)
    return step


def unprivileged_step(top):
    def step(out):
        os.setuid(1000)
        print("unprivileged mount:", mount("none", f"{top}/a", "tmpfs"), file=out)
        print("unprivileged umount:", umount(f"{top}/a"), file=out)
    return step


if __name__ == "__main__":
    top = sys.argv[1]
    os.chmod(top, 0o755)   # the unprivileged step walks into it (a tmpfs root natively)
    for name in ("a", "b", "c", "e", "g", "p", "sub", "src/d"):
        os.makedirs(f"{top}/{name}")
    write(f"{top}/file", "file\n")
    write(f"{top}/src/f", "f\n")
    PARENT_NS = os.readlink("/proc/self/ns/mnt")
    for step in (tmpfs_step, bind_step, unprivileged_step):
        in_child(step(top))
        print("parent sees:", sorted(os.listdir(f"{top}/a")), sorted(os.listdir(f"{top}/b")),
              sorted(os.listdir(f"{top}/src")), os.readlink("/proc/self/ns/mnt") == PARENT_NS)
    print("parent ns unshared:", unshare(CLONE_NEWNS), mount("none", f"{top}/a", "tmpfs"),
          write(f"{top}/a/y", "y"), os.listdir(f"{top}/a"))
