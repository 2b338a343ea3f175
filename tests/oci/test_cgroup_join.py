"""Cgroup.join_self: the sandbox moves itself in, and only while it has one thread."""
from __future__ import annotations

import subprocess
import sys
import textwrap

JOIN = textwrap.dedent("""
    import os, sys, threading, time
    from runsc_py.oci.cgroup import Cgroup, CgroupError
    cg = Cgroup(sys.argv[1])
    cg.create()
    try:
        if sys.argv[2] == "threads":
            threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
        try:
            cg.join_self()
        except CgroupError as e:
            print("refused:", e)
        else:
            mine = str(os.getpid())
            print("in" if all(mine in open(os.path.join(d, "cgroup.procs")).read().split()
                              for d in cg.dirs().values()) else "out")
    finally:
        for d in cg.dirs().values():   # move back out, so the cgroup can go
            parent = os.path.dirname(os.path.dirname(d))
            with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                f.write("0")
        cg.destroy()
""")


def _join(mode: str, name: str) -> str:
    proc = subprocess.run([sys.executable, "-c", JOIN, f"/runsc-py/{name}", mode],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_a_single_threaded_process_moves_itself_into_every_hierarchy():
    assert _join("single", "join-test-1") == "in"


def test_a_process_with_threads_is_refused():
    """Writing its thread to `tasks` would leave the other threads outside."""
    assert _join("threads", "join-test-2").startswith("refused: joining the cgroup with 2 threads")
