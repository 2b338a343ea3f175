"""execve's failures, each from a child: ETXTBSY, E2BIG, ENOEXEC, EACCES and the
path errors. `python3 exec_errors.py DIR`, as root; DIR must not exist (it
is made, world-searchable, and removed). Run natively and sandboxed, the
lines must match."""
import errno, os, shutil, sys, time

d = sys.argv[1]
os.mkdir(d, 0o755)
os.chmod(d, 0o755)
true = shutil.which("true")


def attempt(label, path, argv=None, env=None, as_uid=None):
    """exec in a child; report the errno (or the program's exit status)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            if as_uid is not None:
                os.setgid(as_uid); os.setuid(as_uid)
            os.set_inheritable(w, False)
            os.execve(path, argv or [path], env if env is not None else {})
        except OSError as e:
            os.write(w, errno.errorcode[e.errno].encode())
        os._exit(127)
    os.close(w)
    err = os.read(r, 100).decode()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    print(f"{label}: {err or 'ran, status %d' % os.waitstatus_to_exitcode(status)}")


def make(name, data, mode):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


prog = make("prog", open(true, "rb").read(), 0o755)
attempt("a copy of true", prog)
w = os.open(prog, os.O_WRONLY)
attempt("open for writing", prog)
os.close(w)
attempt("closed again", prog)
# the other way round: a running program cannot be opened for writing
sleeper = make("sleeper", open(shutil.which("sleep"), "rb").read(), 0o755)
pid = os.fork()
if pid == 0:
    os.execv(sleeper, [sleeper, "5"])
time.sleep(0.5)
try:
    os.open(sleeper, os.O_WRONLY)
    print("open a running program for writing: ok")
except OSError as e:
    print("open a running program for writing:", errno.errorcode[e.errno])
os.kill(pid, 9); os.waitpid(pid, 0)

attempt("one string of MAX_ARG_STRLEN", prog, [prog, "x" * (128 * 1024 - 1)])
attempt("one string past MAX_ARG_STRLEN", prog, [prog, "x" * (128 * 1024)])
attempt("env string past MAX_ARG_STRLEN", prog, [prog], {"X": "y" * (128 * 1024)})
attempt("1.9 MiB of arguments", prog, [prog] + ["a" * 100_000] * 19)
attempt("2.1 MiB of arguments", prog, [prog] + ["a" * 100_000] * 21)
attempt("2.1 MiB split argv/envp", prog, [prog] + ["a" * 100_000] * 11,
        {f"E{i}": "b" * 100_000 for i in range(10)})
attempt("garbage", make("garbage", b"\x00\x01garbage\n" * 10, 0o755))
attempt("empty", make("empty", b"", 0o755))
attempt("ELF magic only", make("elfish", b"\x7fELF", 0o755))
attempt("#! without interpreter", make("bang", b"#!\n", 0o755))
attempt("#! missing interpreter", make("missing", b"#!/nonexistent/sh\n", 0o755))
attempt("#! to a script to a script", make("s2", b"#!" + make("s1", b"#!" + prog.encode() + b"\n", 0o755).encode() + b"\n", 0o755))
attempt("no x bit", make("nox", open(true, "rb").read(), 0o644))
attempt("no x bit, as a user", make("nox2", open(true, "rb").read(), 0o644), as_uid=1000)
attempt("x for others only, as a user", make("xo", open(true, "rb").read(), 0o701), as_uid=1000)
attempt("x for owner only, as a user", make("xu", open(true, "rb").read(), 0o700), as_uid=1000)
attempt("execute-only, as a user", make("xonly", open(true, "rb").read(), 0o711), as_uid=1000)
attempt("execute-only script, as a user", make("xscript", b"#!/bin/sh\necho hi\n", 0o711), as_uid=1000)
attempt("a directory", d)
attempt("a missing file", os.path.join(d, "nothing"))
attempt("through a file", os.path.join(prog, "x"))
os.symlink("loop", os.path.join(d, "loop"))
attempt("a symlink loop", os.path.join(d, "loop"))
attempt("a FIFO", (os.mkfifo(os.path.join(d, "fifo")), os.path.join(d, "fifo"))[1])
attempt("/dev/null", "/dev/null")
shutil.rmtree(d)
