"""The numbers dup, dup2, dup3 and fcntl(F_DUPFD[_CLOEXEC]) give, and what they copy.

    python3 dup_numbers.py SCRATCH

Prints, for every copy: its number, its close-on-exec flag, whether it
shares the original's open file description (an lseek through one moves the
other) and the fds an exec'd child still holds. Made with holes in the
table, alone in the process, beside an O_PATH fd, and with a second thread
alive (the sandbox answers some of these natively only when nothing else
can change the table: syscalls/file.py's _dup_to). Then the errors: EBADF,
EINVAL past the limit and EMFILE.
"""
import errno
import fcntl
import os
import resource
import subprocess
import sys
import threading


def shares(a: int, b: int) -> bool:
    os.lseek(a, 0, os.SEEK_SET)
    os.lseek(b, 3, os.SEEK_SET)
    return os.lseek(a, 0, os.SEEK_CUR) == 3


def show(label: str, original: int, copy: int) -> None:
    cloexec = bool(fcntl.fcntl(copy, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)
    print(f"{label}: fd {copy} cloexec={cloexec} shared={shares(original, copy)}")


def attempt(label: str, call) -> None:
    try:
        print(f"{label}: {call()}")
    except OSError as exc:
        print(f"{label}: {errno.errorcode[exc.errno]}")


def copies(tag: str, original: int) -> list[int]:
    made = []
    made.append(os.dup(original))
    show(f"{tag} dup", original, made[-1])
    made.append(fcntl.fcntl(original, fcntl.F_DUPFD, 20))
    show(f"{tag} F_DUPFD 20", original, made[-1])
    made.append(fcntl.fcntl(original, fcntl.F_DUPFD_CLOEXEC, 20))
    show(f"{tag} F_DUPFD_CLOEXEC 20", original, made[-1])
    made.append(os.dup2(original, 40, inheritable=True))
    show(f"{tag} dup2 40", original, made[-1])
    made.append(os.dup2(original, 40, inheritable=False))   # dup3(O_CLOEXEC) over itself
    show(f"{tag} dup3 40 again", original, made[-1])
    made.append(os.dup2(original, made[0], inheritable=True))   # onto an open fd
    show(f"{tag} dup2 onto {made[0]}", original, made[-1])
    return made


def inherited(made: list[int]) -> str:
    """Which of the fds `made` an exec'd child holds (an fd the program was
    started with is not its own)."""
    out = subprocess.run([sys.executable, "-c", "import os; print(*sorted(int(f) for f in "
                          "os.listdir('/proc/self/fd')))"],
                         close_fds=False, capture_output=True, text=True, check=True).stdout
    return str(sorted(set(map(int, out.split())) & set(made)))


def main() -> None:
    scratch = sys.argv[1]
    path = os.path.join(scratch, "data")
    with open(path, "wb") as f:
        f.write(b"0123456789")
    opened = [os.open(path, os.O_RDONLY) for _ in range(6)]
    for fd in opened[1:4]:   # holes for the lowest free number to find
        os.close(fd)
    original = opened[0]
    alone = copies("alone", original)
    print("inherited:", inherited([original, *alone]))
    for fd in set(alone) - {alone[0]}:
        os.close(fd)

    o_path = os.open(scratch, os.O_PATH)
    beside = copies("beside O_PATH", original)
    print("inherited:", inherited([original, o_path, *beside]))
    os.close(o_path)

    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    threaded = copies("threaded", original)
    release.set()
    worker.join()

    print("inherited:", inherited([original, *threaded]))
    for fd in set(beside + threaded) - {original, alone[0]}:
        os.close(fd)
    attempt("dup of a closed fd", lambda: os.dup(999))
    attempt("dup2 past the limit", lambda: os.dup2(original, 1 << 20))
    attempt("F_DUPFD past the limit", lambda: fcntl.fcntl(original, fcntl.F_DUPFD, 1 << 20))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (48, hard))
    highest = 0
    try:
        while True:
            highest = os.dup(original)
    except OSError as exc:   # (how many it took depends on the fds it was started with)
        print(f"dup until {errno.errorcode[exc.errno]}: the last was fd {highest}")
    attempt("dup2 to the limit", lambda: os.dup2(original, 48))
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


if __name__ == "__main__":
    main()
