"""Credentials are per thread: a raw setresuid (or prctl) in one thread
changes only that thread; a child forked by it, or a thread it makes, starts
with its credentials; glibc's setuid changes them all.

Run as root (natively, and sandboxed); prints what each thread sees, by
getresuid, /proc/self/task/<tid>/status and /proc/self/status (the leader's).
"""
import ctypes
import os
import threading

libc = ctypes.CDLL(None, use_errno=True)
SYS_prctl, SYS_setresuid, SYS_getresuid, SYS_capget = 157, 117, 118, 125
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_SET_KEEPCAPS, PR_GET_KEEPCAPS = 38, 39, 8, 7


def ids():
    r, e, s = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
    libc.syscall(SYS_getresuid, ctypes.byref(r), ctypes.byref(e), ctypes.byref(s))
    return r.value, e.value, s.value


def status(path):
    wanted = ("Uid:", "NoNewPrivs:", "CapEff:")
    return [line.split(None, 1)[1].strip() for line in open(path) if line.startswith(wanted)]


def thread_flags():
    return libc.syscall(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), \
        libc.syscall(SYS_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0)


def effective_caps(tid):
    header = (ctypes.c_uint32 * 2)(0x20080522, tid)
    data = (ctypes.c_uint32 * 6)()
    rc = libc.syscall(SYS_capget, header, data)
    return rc if rc else hex(data[0] | data[3] << 32)


changed, checked = threading.Event(), threading.Event()
worker_tid = []


def worker():
    worker_tid.append(threading.get_native_id())
    libc.syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0)
    libc.syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    print("worker setresuid:", libc.syscall(SYS_setresuid, 1000, 1000, 1000), flush=True)
    print("worker sees:", ids(), thread_flags(), flush=True)
    pid = os.fork()
    if pid == 0:
        print("worker's child:", ids(), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    inner = threading.Thread(target=lambda: print("worker's thread:", ids(), flush=True))
    inner.start()
    inner.join()
    changed.set()
    checked.wait()
    print("worker at the end:", ids(), flush=True)


t = threading.Thread(target=worker)
t.start()
changed.wait()
me = threading.get_native_id()
print("main sees:", ids(), thread_flags())
print("main's status:", status(f"/proc/self/task/{me}/status"))
print("worker's status:", status(f"/proc/self/task/{worker_tid[0]}/status"))
print("process status:", status("/proc/self/status"))
print("capget worker:", effective_caps(worker_tid[0]) == hex(0), "capget main:",
      effective_caps(0) != hex(0))
print("main setresuid back:", libc.syscall(SYS_setresuid, 0, 0, 0))
pid = os.fork()
if pid == 0:
    print("main's child:", ids(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
checked.set()
t.join()
go, done = threading.Event(), threading.Event()


def sibling():
    go.wait()
    print("sibling after glibc's setresuid:", ids(), flush=True)
    done.set()


s2 = threading.Thread(target=sibling)
s2.start()
os.setresuid(0, 3000, 0)   # glibc makes the call in every thread
go.set()
done.wait()
s2.join()
print("main after glibc's setresuid:", ids())
