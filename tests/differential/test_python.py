"""python3 natively and in the sandbox."""
import pytest

from tests.differential.compare import assert_same

PROGRAMS = {
    "subprocess": 'import json, os, subprocess; print(subprocess.run(["echo","hi"],capture_output=True).stdout)',
    "json and files": "import json; print(json.dumps(sorted(open('/etc/passwd').read().split(':'))[:5]))",
    "listdir and stat": "import os; print(sorted(os.listdir('/etc'))[:10], os.stat('/etc/passwd').st_size)",
    "threads": (
        "import threading, subprocess\n"
        "out = []\n"
        "def work(i): out.append(subprocess.run(['echo', str(i)], capture_output=True).stdout)\n"
        "ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print(sorted(out))"
    ),
    "exception": "raise SystemExit('failed on purpose')",
}


@pytest.mark.parametrize("code", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_python(platform, code):
    assert_same(platform, ["python3", "-c", code])
