"""The C module's helpers, pinned against the running test process."""
import errno
import os

from runsc_py._interpose import ffi, lib


def test_read_cstring():
    text = ffi.new("char[]", b"hello")
    buf = ffi.new("char[]", 64)
    addr = int(ffi.cast("uintptr_t", text))
    assert lib.rp_mem_read_cstr(os.getpid(), addr, buf, 64) == 5
    assert ffi.string(buf) == b"hello"
    assert lib.rp_mem_read_cstr(os.getpid(), addr, buf, 3) == -errno.ENAMETOOLONG
    assert lib.rp_mem_read_cstr(os.getpid(), 1, buf, 64) == -errno.EFAULT


def test_read_and_write_memory():
    src = ffi.new("char[]", b"abcdef")
    addr = int(ffi.cast("uintptr_t", src))
    out = ffi.new("char[]", 6)
    assert lib.rp_mem_read(os.getpid(), addr, out, 6) == 6
    assert lib.rp_mem_write(os.getpid(), addr, b"XY", 2) == 2
    assert ffi.string(src) == b"XYcdef"
    assert lib.rp_mem_write(os.getpid(), 8, b"XY", 2) == -errno.EFAULT


def test_identity_table():
    ids = ffi.new("struct rp_ids *", {"tid": 424242, "vpid": 1, "vtid": 1, "vppid": 0,
                                      "uid": 7, "euid": 7, "gid": 8, "egid": 8})
    assert lib.rp_ids_set(ids) == 0
    out = ffi.new("struct rp_ids *")
    assert lib.rp_ids_get(424242, out) == 0 and out.uid == 7
    lib.rp_ids_clear(424242)
    assert lib.rp_ids_get(424242, out) == -errno.ESRCH


def test_openat2_in_root_clamps_dotdot(tmp_path):
    (tmp_path / "inner").mkdir()
    root = os.open(tmp_path / "inner", os.O_PATH)
    try:
        fd = lib.rp_openat2(root, b"../../..", os.O_PATH, 0, 0x10)  # RESOLVE_IN_ROOT
        assert fd >= 0 and os.path.samestat(os.fstat(fd), os.stat(tmp_path / "inner"))
        os.close(fd)
    finally:
        os.close(root)
