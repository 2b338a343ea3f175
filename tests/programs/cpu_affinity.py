"""What a task learns of its CPUs, and what choosing them does.

    python3 cpu_affinity.py

Prints the CPU count and sets sched_getaffinity gives (the caller, by pid
0 and by its own pid, a thread, a forked child), the raw call's answers for
mask lengths Linux accepts and refuses, ESRCH for a pid that does not
exist, and then the same after the process chooses CPU 0: what it reads
back, what a child inherits, and EINVAL for a mask with no CPU. Under
runsc-py --cpu-pin the workload runs on one CPU, which it must not see
(sentry/cpus.py).
"""
import ctypes
import errno
import os
import threading

LIBC = ctypes.CDLL(None, use_errno=True)
SYS_SCHED_SETAFFINITY, SYS_SCHED_GETAFFINITY = 203, 204


def raw_get(pid: int, length: int) -> str:
    buf = ctypes.create_string_buffer(64)
    rc = LIBC.syscall(SYS_SCHED_GETAFFINITY, pid, length, buf)
    if rc < 0:
        return errno.errorcode[ctypes.get_errno()]
    return f"{rc} bytes, cpus {sorted(cpu for cpu in range(rc * 8) if buf.raw[cpu // 8] >> cpu % 8 & 1)}"


def raw_set(pid: int, mask: bytes) -> str:
    rc = LIBC.syscall(SYS_SCHED_SETAFFINITY, pid, len(mask), mask)
    return "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()]


def in_thread() -> list[int]:
    out = []
    t = threading.Thread(target=lambda: out.append(sorted(os.sched_getaffinity(0))))
    t.start()
    t.join()
    return out[0]


def in_child() -> str:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, repr(sorted(os.sched_getaffinity(0))).encode())
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    text = os.read(r, 100).decode()
    os.close(r)
    return text


def report(label: str) -> None:
    print(f"{label}: count {len(os.sched_getaffinity(0))}, pid 0 {sorted(os.sched_getaffinity(0))}, "
          f"own pid {sorted(os.sched_getaffinity(os.getpid()))}, thread {in_thread()}, "
          f"child {in_child()}")
    for length in (0, 4, 8, 16, 64):
        print(f"  length {length}: {raw_get(0, length)}")
    print(f"  pid 999999: {raw_get(999999, 8)}")


def main() -> None:
    report("as started")
    print("choose no CPU:", raw_set(0, bytes(8)))
    print("choose CPU 0:", raw_set(0, (1).to_bytes(8, "little")))
    report("after choosing CPU 0")


if __name__ == "__main__":
    main()
