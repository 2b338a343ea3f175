"""Real tools over the writable filesystems, natively and in the sandbox.

Each script works in a scratch directory of its own (a tmpfs mount in the
sandbox, a host tmp directory natively) and prints what a user would check.
"""
import sys

import pytest

from tests.conftest import run, sandboxed

BUSYBOX_SCRIPTS = {
    "tar round trip": (
        "mkdir -p src/a/b && echo one > src/a/f && echo two > src/a/b/g && ln -s a/f src/l && "
        "chmod 640 src/a/f && tar cf t.tar src && mkdir out && tar xf t.tar -C out && "
        "cd out/src && find . | sort && cat a/f a/b/g && readlink l && ls -l a/f | cut -c1-10"),
    "cp -a, mv, ln -s": (
        "mkdir -p x/y && echo data > x/y/z && touch -d '2020-01-02 03:04:05' x/y/z && cp -a x x2 && "
        "ls -l --full-time x2/y/z | cut -c1-10,43- ; mv x2 x3 && ln -s x3/y/z link && cat link && "
        "ls -d x2 2>&1 | cut -d: -f2- ; find . | sort"),
    "find -newer, du": (
        "mkdir d && echo old > d/old && touch -d '2001-01-01' d/old && sleep 0.01 && echo new > d/new && "
        "find d -newer d/old && head -c 100000 /dev/zero > d/big && du -k d/big | cut -f1"),
}

PYTHON_SCRIPTS = {
    "locks": (
        "import fcntl, os, time; fd = os.open('lk', os.O_RDWR | os.O_CREAT, 0o600); fcntl.flock(fd, fcntl.LOCK_EX);"
        "fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0); r, w = os.pipe(); pid = os.fork()\n"
        "if pid == 0:\n"
        "    fd2 = os.open('lk', os.O_RDWR)\n"
        "    for kind, call in (('flock', lambda: fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)),"
        " ('lockf', lambda: fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0))):\n"
        "        try: call(); os.write(w, b'got ' + kind.encode() + b' ')\n"
        "        except OSError as e: os.write(w, kind.encode() + b' busy ')\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0); print(os.read(r, 100))"),
    "copies": (
        "import os, shutil; open('a', 'wb').write(os.urandom(100000)); shutil.copy('a', 'b');"
        "src, dst = os.open('a', os.O_RDONLY), os.open('c', os.O_WRONLY | os.O_CREAT, 0o644);"
        "n = os.copy_file_range(src, dst, 50000); m = os.sendfile(dst, src, 50000, 50000);"
        "r, w = os.pipe(); os.splice(src, w, 1000, offset_src=0); os.splice(r, dst, 1000, offset_dst=100000);"
        "shutil.copy('/etc/passwd', 'p');"
        "print(n, m, open('a','rb').read() == open('b','rb').read() == open('c','rb').read()[:100000],"
        " os.path.getsize('c'), open('p','rb').read() == open('/etc/passwd','rb').read())"),
    "compileall": (
        "import compileall, os, sys, py_compile; os.makedirs('pkg'); open('pkg/m.py','w').write('X = 42\\n');"
        "ok = compileall.compile_dir('pkg', quiet=1); sys.path.insert(0, '.');"
        "import pkg.m; print(ok, pkg.m.X, sorted(os.listdir('pkg/__pycache__'))[0].startswith('m.'))"),
    "device descriptions": (  # each open of a device is its own open file description
        "import fcntl, os\n"
        "for dev in ('/dev/null', '/dev/zero', '/dev/full', '/dev/urandom', '/dev/tty'):\n"
        "    try: a, b = os.open(dev, os.O_RDWR), os.open(dev, os.O_RDWR)\n"
        "    except OSError as e: print(dev, e.errno); continue\n"
        "    fcntl.fcntl(a, fcntl.F_SETFL, os.O_NONBLOCK | os.O_APPEND)\n"
        "    print(dev, [bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK) for fd in (a, b)],"
        " os.lseek(a, 0, os.SEEK_CUR), len(os.read(b, 7)))"),
    "mmap shared": (
        "import mmap, os; fd = os.open('db', os.O_RDWR | os.O_CREAT, 0o600); os.ftruncate(fd, 8192);"
        "m = mmap.mmap(fd, 8192, mmap.MAP_SHARED); m[100:105] = b'hello'; m.flush();"
        "pid = os.fork()\nif pid == 0:\n    m2 = mmap.mmap(os.open('db', os.O_RDWR), 8192); m2[0:5] = b'child'; os._exit(0)\n"
        "os.waitpid(pid, 0); print(m[0:5], open('db','rb').read()[100:105], os.path.getsize('db'))"),
}


def _compare(platform, tmp_path, argv):
    native_dir, sandbox_dir = tmp_path / "native", tmp_path / "sandbox"
    native_dir.mkdir()
    sandbox_dir.mkdir()
    native = run(argv, cwd=native_dir)
    inside = sandboxed(platform, *argv, cwd=sandbox_dir, flags=("--tmpfs", str(sandbox_dir)))
    assert native.code == 0, native
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)
    assert list(sandbox_dir.iterdir()) == []  # it all happened on the sandbox's tmpfs


@pytest.mark.parametrize("name", sorted(BUSYBOX_SCRIPTS))
def test_busybox_tools(platform, busybox, tmp_path, name):
    _compare(platform, tmp_path, [busybox, "sh", "-c", BUSYBOX_SCRIPTS[name]])


@pytest.mark.parametrize("name", sorted(PYTHON_SCRIPTS))
def test_python_tools(platform, tmp_path, name):
    _compare(platform, tmp_path, [sys.executable, "-c", PYTHON_SCRIPTS[name]])


FOLLOW_RENAMES = (  # an open file is its file, whatever its name becomes
    "import os, sys; d = sys.argv[1]; os.makedirs(d + '/x'); open(d + '/x/f', 'w').write('data');"
    "fd = os.open(d + '/x/f', os.O_RDWR); dfd = os.open(d + '/x', os.O_RDONLY);"
    "os.rename(d + '/x', d + '/y'); os.rename(d + '/y/f', d + '/y/g');"
    "show = lambda n: os.readlink(f'/proc/self/fd/{n}').replace(d, 'D');"
    "print(show(fd), show(dfd)); os.fchmod(fd, 0o604); os.fchdir(dfd);"
    "print(oct(os.stat(d + '/y/g').st_mode), os.getcwd().replace(d, 'D'), os.listdir('.'));"
    "open(d + '/y/h', 'w'); os.rename(d + '/y/h', d + '/y/g');"
    "print(show(fd))")


@pytest.mark.parametrize("backend", ["tmpfs", "overlay", "bind"])
def test_open_files_follow_renames(platform, tmp_path, backend):
    native_dir, sandbox_dir = tmp_path / "native", tmp_path / "sandbox"
    native_dir.mkdir()
    sandbox_dir.mkdir()
    flags = {"tmpfs": ("--tmpfs", str(sandbox_dir)), "overlay": (),
             "bind": ("-v", f"{sandbox_dir}:{sandbox_dir}")}[backend]
    native = run([sys.executable, "-c", FOLLOW_RENAMES, str(native_dir)])
    inside = sandboxed(platform, sys.executable, "-c", FOLLOW_RENAMES, str(sandbox_dir), flags=flags)
    assert native.code == 0 and b"D/y/g" in native.out, native
    assert (inside.code, inside.out, inside.err) == (native.code, native.out, native.err)
