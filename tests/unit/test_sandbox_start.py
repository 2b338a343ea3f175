"""How a created sandbox learns to start (sandbox.py's wait_for_start): a
`start` control request, or `run`'s byte down the orders pipe (cli/early.py)."""
import os
import subprocess
import threading

import pytest

from runsc_py.cli import early
from runsc_py.sandbox import control
from runsc_py.sandbox.sandbox import Sandbox


def _created(tmp_path) -> Sandbox:
    sandbox = Sandbox(None, "c1", str(tmp_path / "control.sock"), None, None)
    sandbox.listener = control.listen(sandbox.control_path)
    return sandbox


def _ask_soon(path: str, op: str, **args) -> threading.Thread:
    asking = threading.Thread(target=control.request, args=(path, op), kwargs=args)
    asking.start()
    return asking


def test_run_starts_it_down_the_orders_pipe(tmp_path):
    sandbox = _created(tmp_path)
    start_fd, write_fd = os.pipe()
    early.start(early.EarlySandbox(0, write_fd, -1))   # run's side: a byte, then closed
    assert sandbox.wait_for_start(start_fd)
    assert sandbox.started
    with pytest.raises(OSError):   # closed once read
        os.fstat(start_fd)


def test_after_creates_end_of_the_pipe_start_comes_to_the_socket(tmp_path):
    sandbox = _created(tmp_path)
    start_fd, write_fd = os.pipe()
    os.close(write_fd)   # create is done
    asking = _ask_soon(sandbox.control_path, "start")
    assert sandbox.wait_for_start(start_fd)
    asking.join()


def test_a_kill_before_start_ends_the_wait(tmp_path):
    sandbox = _created(tmp_path)
    start_fd, write_fd = os.pipe()   # run's CLI still busy: the pipe stays open
    init = subprocess.Popen(["sleep", "30"])   # stands for the init waiting at its exec
    sandbox.init_pid = init.pid
    asking = _ask_soon(sandbox.control_path, "kill", signal=15)
    assert not sandbox.wait_for_start(start_fd)
    assert sandbox.exit_now == 143 and init.wait(5) == -9
    asking.join()
    os.close(write_fd)
