"""Opens of the same rootfs file, again and again, in the ways programs use them.

In the sandbox every open after the first may be answered by the C loop
(csrc/answer_cache.c) and adopted by the sentry's fd table later; run
natively and sandboxed, the output must match: fd numbers, independent
offsets, dup, fstat, fork, threads, close-on-exec across exec, EBADF.
"""
import os
import subprocess
import sys
import threading

PATH = "/etc/passwd"


def fds() -> list[int]:
    return sorted(int(n) for n in os.listdir("/proc/self/fd"))


def main() -> None:
    a = os.open(PATH, os.O_RDONLY)
    b = os.open(PATH, os.O_RDONLY)
    first = os.read(b, 4)
    os.close(a)
    c = os.open(PATH, os.O_RDONLY)          # the lowest free number again
    print("numbers", a, b, c, "offsets", first == os.read(c, 4), os.read(b, 4) == os.read(c, 4))
    print("fstat", os.fstat(c).st_ino == os.stat(PATH).st_ino, os.fstat(c).st_size > 0)
    d = os.dup(c)
    print("dup", d, os.read(d, 2) == os.pread(c, 2, 8), fds())
    for fd in (b, c, d):
        os.close(fd)
    e = os.open(PATH, os.O_RDONLY)
    os.close(e)
    try:
        os.close(e)
    except OSError as exc:
        print("second close", exc.errno)
    opened = [os.open(PATH, os.O_RDONLY) for _ in range(5)]
    for fd in opened[1::2]:
        os.close(fd)
    print("holes", fds(), os.open(PATH, os.O_RDONLY))
    pid = os.fork()
    if pid == 0:
        os.write(1, f"child {os.read(opened[0], 4) == first} {fds()}\n".encode())
        os._exit(0)
    os.waitpid(pid, 0)
    kept = os.open(PATH, os.O_RDONLY | os.O_CLOEXEC)
    inherited = os.open(PATH, os.O_RDONLY)
    os.set_inheritable(inherited, True)
    # the listing is the sentry's table; a read runs natively, on the host's
    child = ("import os, sys\n"
             "def reads(fd):\n"
             "    try:\n"
             "        return len(os.read(fd, 1))\n"
             "    except OSError as exc:\n"
             "        return exc.errno\n"
             f"print(sorted(os.listdir('/proc/self/fd')), reads({kept}), reads({inherited}))")
    listing = subprocess.run([sys.executable, "-c", child], close_fds=False, capture_output=True,
                             text=True).stdout.strip()
    print("exec", kept, inherited, listing)

    def churn(out: list, times: int = 200) -> None:
        for _ in range(times):
            fd = os.open(PATH, os.O_RDONLY)
            out.append(len(os.read(fd, 16)))
            os.close(fd)

    alone: list = []
    churn(alone, 600)   # one thread: every close here finds its open not adopted yet
    print("alone", sum(alone), fds())
    results: list[list] = [[] for _ in range(4)]
    threads = [threading.Thread(target=churn, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("threads", [sum(r) for r in results], fds())


if __name__ == "__main__":
    main()
