#!/usr/bin/env bash
# runsc-py set-up for a fresh Debian 12 machine, as root.
#
#   ./setup.sh          install everything, then sandbox a command
#   ./setup.sh test     install everything, then run the default test suite
#   ./setup.sh slow     install everything, then run the slow suites too
#
# Installs: gcc and libseccomp-dev (the C core is compiled by cffi at
# install), busybox-static and strace (workloads of the tests), runsc
# (gVisor, compared against in bench/), and runsc-py itself with its
# pinned Python dependencies.
set -euo pipefail
cd "$(dirname "$0")"

# Debian's own interpreter, whatever `python3` comes first on PATH (a pyenv
# or /usr/local build may shadow it): it is the one a Debian host has, and
# it is built with PGO and LTO. A cold `runsc-py run` is ~12% faster on it
# than on a plain `./configure --enable-shared` build of the same 3.11.
PYTHON=/usr/bin/python3

DEBIAN_PACKAGES=(gcc libc6-dev libseccomp-dev python3 python3-dev python3-pip python3-venv
                 libpython3.11-testsuite  # CPython's own tests, for the slow suites
                 busybox-static strace runsc iproute2 util-linux openssl
                 runc containerd docker.io podman)  # OCI: engines for tests/engines, runc for bench/oci.py

install() {
    if [ "$(id -u)" != 0 ]; then
        echo "setup.sh: run as root (runsc-py needs ptrace, seccomp and namespaces)" >&2
        exit 1
    fi
    local missing=()
    for p in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    # Debian's python3 refuses system-wide pip installs (PEP 668) unless told;
    # pip puts them under /usr/local, apart from Debian's own packages.
    PIP_BREAK_SYSTEM_PACKAGES=1 "$PYTHON" -m pip install -q --disable-pip-version-check -e '.[test]'
    # Byte-compile now: an editable install otherwise compiles on every start
    # where PYTHONDONTWRITEBYTECODE is set (34 ms of a 180 ms cold start).
    "$PYTHON" -m compileall -q runsc_py
    # Replace pip's `runsc-py` script with the isolated launcher engines run
    # (python3 -I -S, no .pth hooks; see runsc_py/cli/launcher.py).
    local script
    script="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/runsc-py"
    if [ ! -e "$script" ]; then
        echo "setup.sh: pip did not install runsc-py at $script" >&2
        exit 1
    fi
    "$PYTHON" -m runsc_py.cli.launcher "$script"
}

install
case "${1:-demo}" in
    demo)
        runsc-py do -- busybox sh -c 'echo "hello from $(uname -n), kernel $(uname -r)"; ls / | head -3'
        ;;
    test)
        exec "$PYTHON" -m pytest -q
        ;;
    slow)
        exec "$PYTHON" -m pytest -q -m 'slow or not slow'
        ;;
    *)
        echo "usage: $0 [demo|test|slow]" >&2
        exit 2
        ;;
esac
