"""A warm pool: sandboxes booted ahead of demand, each used once.

    from runsc_py import Pool, Sandbox

    with Pool(size=4, template=Sandbox(network="none", timeout=5),
              prepare=["python3", "-c", "import json"]) as pool:
        result = pool.run(code="import json, sys; print(json.dumps(sys.argv))")

Each ready sandbox is a `runsc-py do` whose workload is a small runner
(RUNNER): it has run the `prepare` code (so the interpreter has imported
what a request will use), said so on stderr, and waits on its stdin for
one request: a length-prefixed JSON header (`argv` to exec, or `code` to
run in a fresh `__main__`; the cwd and environment) followed by the
request's input. A request takes one sandbox, writes the request, and
collects what it prints and how it ends, as Sandbox.run does; the sandbox
then ends and is removed (its scratch workdir too), and a thread boots
another. Nothing of one request reaches the next: each has its own
sentry, overlay, processes, fds and workdir (a copy of the template's).
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import queue
import shutil
import tempfile
import threading
import time

from runsc_py.api import Result, Sandbox, finish, in_thread, make_scratch

READY = b"\0runsc-py-pool-ready\n"
RUNNER = r"""
import json, os, sys
if sys.argv[1]:
    exec(compile(sys.argv[1], "<prepare>", "exec"), {"__name__": "__prepare__"})
os.write(2, b"\0runsc-py-pool-ready\n")

def exactly(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            os._exit(0)   # let go unused
        data += chunk
    return data

request = json.loads(exactly(int.from_bytes(exactly(8), "little")))
os.chdir(request["cwd"])
os.environ.clear()
os.environ.update(request["env"])
if "argv" in request:
    os.execvp(request["argv"][0], request["argv"])
sys.argv = request["args"]
exec(compile(request["code"], "<request>", "exec"), {"__name__": "__main__"})
"""
BOOT_TIMEOUT = 60


class _Warm:
    """One booted sandbox waiting for its request."""

    def __init__(self, template: Sandbox, interpreter: str, prepare: str):
        self.sandbox = copy.copy(template)
        self.sandbox.scratch = make_scratch()
        shutil.copytree(template.scratch, self.sandbox.scratch, dirs_exist_ok=True, symlinks=True)
        self.private = tempfile.mkdtemp(prefix="runsc-py-run-")
        self.report = os.path.join(self.private, "report.json")
        self.proc = self.sandbox.start([interpreter, "-c", RUNNER, prepare], report_file=self.report)
        self.ready = self._wait_ready()

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + BOOT_TIMEOUT
        seen = b""
        fd = self.proc.stderr.fileno()
        while READY not in seen and time.monotonic() < deadline:
            chunk = os.read(fd, 4096)
            if not chunk:
                return False
            seen += chunk
        return READY in seen

    def discard(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if not stream.closed:
                stream.close()
        with contextlib.suppress(OSError):
            self.proc.kill()
            self.proc.wait()
        self.cleanup()

    def cleanup(self) -> None:
        shutil.rmtree(os.path.dirname(self.sandbox.scratch), ignore_errors=True)
        shutil.rmtree(self.private, ignore_errors=True)


class Pool:
    """`size` sandboxes like `template` kept booted; see the module's docstring."""

    def __init__(self, size: int = 4, template: Sandbox | None = None,
                 prepare: list[str] | None = None):
        if prepare and (len(prepare) != 3 or prepare[1] != "-c"):
            raise ValueError('prepare is a Python interpreter and its code: ["python3", "-c", CODE]')
        self.size = size
        self.template = template or Sandbox()
        self._owns_template = template is None
        self.interpreter, self.prepare = (prepare[0], prepare[2]) if prepare else ("python3", "")
        self._ready: queue.Queue[_Warm] = queue.Queue()
        self._wanted = threading.Semaphore(size)   # one token per sandbox to boot
        self._closed = False
        self._fillers = [threading.Thread(target=self._fill, daemon=True)
                         for _ in range(min(size, 2))]
        for t in self._fillers:
            t.start()

    def _fill(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closed:
                return
            try:
                warm = _Warm(self.template, self.interpreter, self.prepare)
            except OSError:
                time.sleep(0.1)
                self._wanted.release()
                continue
            if not warm.ready or self._closed:
                warm.discard()
                if not self._closed:
                    self._wanted.release()
                continue
            self._ready.put(warm)

    def run(self, argv: list[str] | None = None, *, code: str | None = None,
            args: list[str] = (), input: bytes | str = b"", timeout: float | None = None,
            env: dict[str, str] | None = None) -> Result:
        """Run `argv` (exec'd), or Python `code` (in the prepared interpreter,
        sys.argv = ["<request>", *args]), in a sandbox of the pool."""
        if (argv is None) == (code is None):
            raise ValueError("give argv or code")
        if self._closed:
            raise RuntimeError("the pool is closed")
        warm = self._take()
        request = {"cwd": warm.sandbox.cwd, "env": dict(warm.sandbox.env if env is None else env)}
        if argv is not None:
            request["argv"] = list(argv)
        else:
            request.update(code=code, args=["<request>", *args])
        header = json.dumps(request).encode()
        if isinstance(input, str):
            input = input.encode()
        started = time.monotonic()
        try:
            result = finish(warm.proc, list(argv) if argv else ["<code>"],
                            len(header).to_bytes(8, "little") + header + input,
                            self.template.timeout if timeout is None else timeout,
                            self.template.output_limit, warm.report, started,
                            memory_limited=self.template.memory is not None)
        finally:
            warm.cleanup()
            self._wanted.release()   # boot the next one
        return result

    async def arun(self, argv: list[str] | None = None, **request) -> Result:
        """`run` for asyncio (each request waits in a thread of the loop's executor)."""
        return await in_thread(self.run, argv, **request)

    def _take(self) -> _Warm:
        """A ready sandbox: at once, or the next to finish booting (more
        callers than `size` wait for the ones their predecessors free)."""
        try:
            return self._ready.get(timeout=2 * BOOT_TIMEOUT)
        except queue.Empty:
            raise RuntimeError("no sandbox of the pool booted (see the runtime's log)") from None

    def close(self) -> None:
        """Stop booting, and end the sandboxes still waiting."""
        self._closed = True
        for _ in self._fillers:
            self._wanted.release()
        while True:
            try:
                self._ready.get_nowait().discard()
            except queue.Empty:
                break
        for t in self._fillers:
            t.join(timeout=BOOT_TIMEOUT)
        while True:   # booted while closing
            try:
                self._ready.get_nowait().discard()
            except queue.Empty:
                break
        if self._owns_template:
            self.template.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
