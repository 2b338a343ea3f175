"""The sandbox process, forked before the command line is even parsed.

A cold `create` (or `run`) has two long jobs: the CLI's (argparse, the OCI
modules, config.json, the state directory, the cgroup: ~22 ms) and the
sandbox's (importing the sentry: ~26 ms). Neither needs the other's
result until the sandbox boots, so on a machine with two cores they need
not run one after the other: when argv names `create` or `run`, `main`
forks the sandbox process first. The child imports what `Sandbox.boot`
will need, then waits for its *orders* on a pipe: config.json's
document as the CLI read it, the container's id, control socket and
cgroup (made and limited by then; the sandbox moves itself in), and the
flags. A second pipe carries the sandbox's "ok" (or why not) back. The
orders pipe stays open after the orders: `run` starts its container with
a byte down it (`start`) rather than a control request, so the sandbox
need not load json and re (~3 ms) before its program runs; `create`
closes it, and the sandbox waits for `runsc-py start` on its socket.

The child touches nothing before its orders come: if the command fails
first (a malformed config.json, an unknown flag, a container id already
taken), `discard` kills it, or it reads EOF when the CLI exits, and exits
having made nothing. The guess is cheap and may be wrong either way: a
command that turns out not to create discards its child; a `create` the
guess missed forks its child when it gets there, as before.
"""
from __future__ import annotations

import gc
import marshal
import os
import struct

# Only gc and marshal (built in), os and struct are imported here: everything
# else (signal's enum, contextlib) would be paid before the fork instead of beside it.

# What Sandbox.boot imports; loaded while the CLI parses, reads and makes.
# With the gofer's own modules: the gofer is forked from the sandbox as it
# boots, and imported them itself after the fork, slower (~1.9 ms, its pages
# copied on write) than the sandbox does before it (~0.5 ms), while the
# sandbox waited for its first answer.
SENTRY_MODULES = (
    "socket", "runsc_py.oci.spec", "runsc_py.oci.log", "runsc_py.sandbox.sandbox",
    "runsc_py.sandbox.control", "runsc_py.platform", "runsc_py.platform.seccomp",
    "runsc_py.sandbox.gofer", "runsc_py.sentry.mounts", "runsc_py.gofer.client",
    "runsc_py.sentry.kernel", "runsc_py.sentry.vfs", "runsc_py.syscalls.table",
    "runsc_py.gofer.server", "runsc_py.gofer.landlock",
    # and what the workload's first look at /proc imports (busybox reads
    # /proc/self/exe at every start): ~1.2 ms the confined sentry would
    # otherwise spend while the workload waits
    "runsc_py.sentry.fs.proc.process", "runsc_py.platform.spawner", "runsc_py.sentry.confinement",
)
# Everything the child imports before its orders (cli/boot_modules.py keeps them in one file).
BOOT_MODULES = ("signal", *SENTRY_MODULES)
# And what a `create` or `run` imports beside it (kept in another), with what
# argparse's gettext loads as the parser is built (locale).
CREATE_MODULES = ("importlib", "runsc_py.cli.parser", "runsc_py.cli.run", "runsc_py.oci.log",
                  "runsc_py.oci.errors", "runsc_py.oci.state", "json", "locale")
CREATING = ("create", "run")
_LENGTH = struct.Struct("<Q")


class EarlySandbox:
    """The forked child, waiting for its orders."""

    def __init__(self, pid: int, orders_fd: int, ready_fd: int):
        self.pid = pid
        self.orders_fd = orders_fd   # create -> sandbox: the orders
        self.ready_fd = ready_fd     # sandbox -> create: "ok" or "error: why"


_waiting: EarlySandbox | None = None


def command_of(argv: list[str], value_flags: frozenset[str]) -> str | None:
    """The first word that is neither a flag nor the value of one of
    `value_flags` (global flags written `--flag VALUE`)."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return None
        if word.startswith("-"):
            if "=" not in word and word.lstrip("-") in value_flags:
                next(words, None)
            continue
        return word
    return None


def fork_if_creating(argv: list[str], value_flags: frozenset[str]) -> None:
    """Fork the sandbox process now if argv looks like `create` or `run`.

    Both processes then run without garbage collection: `create` is short
    and `run` only waits once started, and in either what start-up makes
    lives to the end, so collecting freed nothing and cost the CLI ~3 ms
    (a cold `create` sets off ~25 collections, each traversing everything
    loaded so far). The sandbox turns it back on once booted (see `_child`)."""
    if command_of(argv, value_flags) in CREATING:
        global _waiting
        gc.disable()
        _waiting = fork()
        from runsc_py.cli import boot_modules

        boot_modules.install(boot_modules.CREATE)   # for the command's life (~4 ms less)


def fork() -> EarlySandbox:
    orders_read, orders_write = os.pipe2(os.O_CLOEXEC)
    ready_read, ready_write = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(orders_write)
        os.close(ready_read)
        _child(orders_read, ready_write)   # never returns
    os.close(orders_read)
    os.close(ready_write)
    return EarlySandbox(pid, orders_write, ready_read)


def take() -> EarlySandbox:
    """The sandbox process for this `create`: the early one, or one forked now."""
    global _waiting
    early, _waiting = _waiting, None
    return early if early is not None else fork()


def discard() -> None:
    """The command did not create a container: end the waiting child."""
    global _waiting
    early, _waiting = _waiting, None
    if early is not None:
        kill(early)
        gc.enable()   # off for a create (fork_if_creating); this command may live on


def close(early: EarlySandbox, which: str) -> None:
    """Close one of the pipes (once: the number may be reused after)."""
    fd = getattr(early, which)
    if fd >= 0:
        setattr(early, which, -1)
        os.close(fd)


def read_ready(early: EarlySandbox) -> str:
    """The sandbox's one line: "ok", "error: why", or "" if it died first."""
    with os.fdopen(early.ready_fd, "rb") as ready:   # one line: the gofer inherits the pipe too
        early.ready_fd = -1
        return ready.readline().decode(errors="replace").rstrip("\n")


def kill(early: EarlySandbox) -> None:
    """End a sandbox process that has not said "ok", and reap it (a gofer or
    init it forked dies with it: PDEATHSIG, PTRACE_O_EXITKILL)."""
    close(early, "orders_fd")
    close(early, "ready_fd")
    try:
        os.kill(early.pid, 9)   # SIGKILL
        os.waitpid(early.pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def start(early: EarlySandbox) -> None:
    """`run`: let the booted sandbox's program run (see the module's docstring)."""
    os.write(early.orders_fd, b"s")
    close(early, "orders_fd")


def send_orders(early: EarlySandbox, orders: dict) -> None:
    """config.json's document, the container and the flags, as one marshal message.

    marshal, not JSON: the child reads it without importing json and re
    (~3 ms of its start-up). It is not meant for untrusted data, and this
    is not: the pipe runs between this process and its own child, and the
    values are JSON's types (config.json's document, argparse's flags)."""
    data = marshal.dumps(orders)
    message = memoryview(_LENGTH.pack(len(data)) + data)
    while message:   # a large config.json fills the pipe until the child reads
        message = message[os.write(early.orders_fd, message):]


def _child(orders_fd: int, ready_fd: int) -> None:
    code = 0
    try:
        # No garbage collection while the sentry loads and boots (forked late,
        # by a `create` the guess missed, it would be on): what start-up makes
        # lives as long as the sandbox, so the ~25 collections it set off freed
        # nothing and cost ~3 ms. sandbox_main turns it back on once booted,
        # with those objects frozen out of every later collection, and the
        # gofer when it starts serving.
        gc.disable()
        import importlib

        from runsc_py.cli import boot_modules

        bundle = boot_modules.install(boot_modules.SANDBOX)   # what is imported below (~4 ms less)
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)   # ^C is for the CLI, which cleans up

        for name in SENTRY_MODULES:
            importlib.import_module(name)
        boot_modules.remove(bundle)
        orders = _read_orders(orders_fd)
        if orders is not None:
            _obey(orders, orders_fd, ready_fd)   # never returns
    except BaseException as exc:  # noqa: BLE001 - never return into the CLI's code
        code = 1
        try:   # `create` reports it (the orders came, or it would not be reading)
            os.write(ready_fd, f"error: the sandbox could not take its orders: {exc}\n".encode())
        except OSError:
            pass
    os._exit(code)


def _read_orders(fd: int) -> dict | None:
    """The orders, or None if the CLI closed the pipe without sending any."""
    head = _read_exactly(fd, _LENGTH.size)
    if head is None:
        return None
    data = _read_exactly(fd, _LENGTH.unpack(head)[0])
    return None if data is None else marshal.loads(data)


def _read_exactly(fd: int, n: int) -> bytes | None:
    """n bytes, however the pipe splits them."""
    out = b""
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def _obey(orders: dict, orders_fd: int, ready_fd: int) -> None:
    import types

    from runsc_py.oci import spec as specs
    from runsc_py.oci.log import Log
    from runsc_py.sandbox.sandbox import sandbox_main

    spec = specs.parse(orders["config"], orders["bundle"])
    flags = types.SimpleNamespace(**orders["flags"])
    log = Log(flags.log, flags.log_format, flags.debug)
    sandbox_main(spec, orders["id"], orders["control_path"], orders["cgroup"], flags, log,
                 ready_fd, start_fd=orders_fd)
