"""Exit statuses: the code, or 128+N for a process killed by signal N."""
import pytest

from tests.differential.compare import assert_same

SHELL_CASES = {
    "true": ("true", 0),
    "exit 3": ("exit 3", 3),
    "kill -9 self": ("kill -9 $$", 137),
    "kill -TERM self": ("kill -TERM $$; echo survived", 143),
    "TERM trapped": ("trap 'echo trapped' TERM; kill -TERM $$; echo survived", 0),
    "child killed": ("sh -c 'kill -9 $$'; echo child $?", 0),
}


@pytest.mark.parametrize("script,code", SHELL_CASES.values(), ids=SHELL_CASES.keys())
def test_shell_status(platform, busybox, script, code):
    assert_same(platform, [busybox, "sh", "-c", script])
    from tests.conftest import sandboxed

    assert sandboxed(platform, busybox, "sh", "-c", script).code == code


@pytest.mark.parametrize("name,code", [("segv", 139), ("abort", 134)])
def test_killed_by_signal(platform, program, name, code):
    assert_same(platform, [program(name)])
    from tests.conftest import sandboxed

    assert sandboxed(platform, program(name)).code == code
