"""A directory's listing after changes made between its open and its first read.

    python3 listing_after_changes.py SCRATCH

The sandbox's gofer lists a directory with the open that a walk makes
(sentry/fs/gofer.py's fresh listing); whatever changes the directory
before the first getdents64 must still show, as on Linux.
"""
import os
import sys


def listing(fd: int) -> list[str]:
    return sorted(os.listdir(fd))


def main() -> None:
    d = os.path.join(sys.argv[1], "d")
    os.mkdir(d)
    open(os.path.join(d, "a"), "w").close()
    changes = {
        "create": lambda: open(os.path.join(d, "b"), "w").close(),
        "mkdir": lambda: os.mkdir(os.path.join(d, "c")),
        "rename": lambda: os.rename(os.path.join(d, "b"), os.path.join(d, "b2")),
        "unlink": lambda: os.unlink(os.path.join(d, "a")),
        "symlink": lambda: os.symlink("b2", os.path.join(d, "l")),
        "rmdir": lambda: os.rmdir(os.path.join(d, "c")),
    }
    for name, change in changes.items():
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        change()
        print(f"{name}: {listing(fd)}")
        os.close(fd)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    other = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)   # another open between
    print("after another open:", listing(fd), listing(other))
    print("read twice:", listing(fd), listing(fd))


if __name__ == "__main__":
    main()
