"""o_path.py DIR: what an O_PATH fd allows, natively and in the sandbox.

(o_path_ops.py tries every call on one.)
"""
import os
import stat
import sys

top = sys.argv[1]
os.makedirs(f"{top}/d")
with open(f"{top}/d/f", "w") as f:
    f.write("content\n")
os.symlink("f", f"{top}/d/l")
for name, flags in [("d", 0), ("d/f", 0), ("d/l", os.O_NOFOLLOW), ("d/l", 0)]:
    fd = os.open(f"{top}/{name}", os.O_PATH | flags)
    st = os.fstat(fd)
    print(name, stat.filemode(st.st_mode), st.st_size if not stat.S_ISDIR(st.st_mode) else "-",
          os.readlink(f"/proc/self/fd/{fd}").replace(top, "TOP"))
    for label, call in [("fchmod", lambda: os.fchmod(fd, 0o600)), ("fchown", lambda: os.fchown(fd, 0, 0))]:
        try:
            call()
            print(" ", label, "ok")
        except OSError as exc:
            print(" ", label, exc.errno)
dfd = os.open(f"{top}/d", os.O_PATH)
print("stat at", os.stat("f", dir_fd=dfd).st_size, "listdir via open", sorted(os.listdir(f"/proc/self/fd/{dfd}")))
ffd = os.open(f"{top}/d/f", os.O_PATH)
print("reopen", open(f"/proc/self/fd/{ffd}").read().strip())
os.fchdir(dfd)
print("cwd", os.getcwd().replace(top, "TOP"))
