"""fcntl(F_NOTIFY): a signal (SIGIO, or F_SETSIG's) for events in a
directory, once or with DN_MULTISHOT (also across another process's
exec), none after removal; ENOTDIR for a file unless removing. CPython's
test_fcntl registers DN_MULTISHOT alone.

    python3 dnotify.py DIR      (DIR empty)
"""
import errno, fcntl, os, signal, subprocess, sys, time
d = sys.argv[1]
got = []
signal.signal(signal.SIGIO, lambda s, f: got.append("SIGIO"))
signal.signal(signal.SIGRTMIN + 1, lambda s, f: got.append("RT"))
fd = os.open(d, os.O_RDONLY)
fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_CREATE)
open(os.path.join(d, "a"), "w").close()
time.sleep(0.2)
print("one-shot create:", got); got.clear()
open(os.path.join(d, "b"), "w").close()
time.sleep(0.2)
print("after the one shot:", got); got.clear()
fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGRTMIN + 1)
fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_DELETE | fcntl.DN_MULTISHOT)
os.unlink(os.path.join(d, "a")); time.sleep(0.1)
subprocess.run(["true"])   # an exec while the directory is watched
os.unlink(os.path.join(d, "b")); time.sleep(0.1)
print("multishot deletes with F_SETSIG:", got); got.clear()
fcntl.fcntl(fd, fcntl.F_NOTIFY, 0)
open(os.path.join(d, "c"), "w").close(); time.sleep(0.1)
print("after removal:", got)
f = os.open(os.path.join(d, "c"), os.O_RDONLY)
try:
    fcntl.fcntl(f, fcntl.F_NOTIFY, fcntl.DN_CREATE)
except OSError as e:
    print("on a file:", errno.errorcode[e.errno])
print("0 on a file:", fcntl.fcntl(f, fcntl.F_NOTIFY, 0))
print("64-bit flag:", fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_MULTISHOT))
