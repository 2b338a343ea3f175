"""stat and lstat of every name after each change: what a replayed answer would get wrong.

    python3 stat_after_changes.py DIR 'JSON list of [op, args...]'

Creates DIR, applies each operation in turn and, after each, prints the
result of stat and lstat of every name the operations use (by its absolute
path, relative to DIR as the cwd, and from DIR/a, DIR/x and DIR/y as the
cwd and by a directory fd), as fields that mean the same on any filesystem (type and mode bits,
link count, size of files and symlinks, owner, and which names share an
inode). An errno is
printed by name. Run natively and in the sandbox, the outputs must match.
"""
import errno
import json
import os
import stat
import sys

NAMES = ("a", "b", "a/c", "b/c", "l", "f")


HELD: dict[str, int] = {}  # a file's fd from its creation on, written through natively


def apply(op: str, args: list) -> None:
    if op == "mkdir":
        os.mkdir(args[0])
    elif op == "rmdir":
        os.rmdir(args[0])
    elif op == "create":
        fd = os.open(args[0], os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
        HELD.setdefault(args[0], fd)
    elif op == "append":  # through the fd held since creation: no trapped call at all
        if args[0] not in HELD:
            raise OSError(errno.EBADF, "never created")
        os.write(HELD[args[0]], b"x" * args[1])
    elif op == "unlink":
        os.unlink(args[0])
    elif op == "rename":
        os.rename(args[0], args[1])
    elif op == "symlink":
        os.symlink(args[0], args[1])
    elif op == "link":
        os.link(args[0], args[1])
    elif op == "chmod":
        os.chmod(args[0], args[1])
    elif op == "chown":
        os.chown(args[0], args[1], args[2], follow_symlinks=False)
    elif op == "truncate":
        os.truncate(args[0], args[1])
    else:
        raise SystemExit(f"unknown op {op}")


def describe(names: tuple[str, ...], base: str, dir_fd: int | None = None) -> list:
    """Each name by its absolute path, then relative to the cwd (`base`), or
    with `dir_fd` relative to that directory fd (also `base`)."""
    out, inodes = [], {}
    for path in [f"{base}/{name}" for name in names] + list(names):
        name = os.path.relpath(path, base)
        for follow in (True, False):
            try:
                st = os.stat(path, follow_symlinks=follow,
                             dir_fd=dir_fd if not path.startswith("/") else None)
            except OSError as exc:
                out.append(errno.errorcode[exc.errno])
                continue
            same = inodes.setdefault((st.st_dev, st.st_ino), f"{name}{'' if follow else '@'}")
            size = st.st_size if not stat.S_ISDIR(st.st_mode) else "dir"
            out.append([oct(st.st_mode), st.st_nlink, size, st.st_uid, st.st_gid, same])
    return out


def main() -> None:
    base, ops = os.path.abspath(sys.argv[1]), json.loads(sys.argv[2])
    os.mkdir(base)
    os.chdir(base)
    os.makedirs("x/c")   # working directories the operations never touch:
    os.mkdir("y")        # x/c is a directory, y/c does not exist
    print(describe(NAMES, base))  # twice: the second may be replayed
    print(describe(NAMES, base))
    for op, *args in ops:
        try:
            apply(op, args)
            print(op, args, "ok")
        except OSError as exc:
            print(op, args, errno.errorcode[exc.errno])
        print(describe(NAMES, base))
        print(describe(NAMES, base))
        for directory in ("a", "x", "y", "x"):   # "c" is another file from each
            print(from_inside(directory, base), from_inside(directory, base))


def from_inside(directory: str, base: str) -> list:
    """What names look like from a working directory below `base` (then back)."""
    try:
        os.chdir(directory)
    except OSError as exc:
        return [errno.errorcode[exc.errno]]
    try:
        seen = describe(("c", "../f", "../l", "../a/c"), base)
    finally:
        os.chdir(base)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)   # the same number each time
    try:
        return seen + describe(("c", "../f", "../l", "../a/c"), base, fd)
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()
