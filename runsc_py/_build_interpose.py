"""cffi builder for runsc_py._interpose (API mode), run by setuptools at install.

The cdef is the part of csrc/interpose.h between its RP_CDEF markers, plus
the extern "Python" callbacks (which a C compiler cannot read, so they are
declared here and forward-declared static in interpose.c).
"""
import pathlib

from cffi import FFI

CSRC = pathlib.Path(__file__).resolve().parent.parent / "csrc"

CALLBACKS = """
extern "Python" int rp_py_trap(struct rp_trap *, struct rp_reply *);
extern "Python" int rp_py_wait(int32_t pid, int32_t status);
extern "Python" int rp_py_event(int fd, uint32_t events);
"""


def _cdef() -> str:
    header = (CSRC / "interpose.h").read_text()
    begin = header.index("/* RP_CDEF_BEGIN */")
    end = header.index("/* RP_CDEF_END */")
    return header[begin:end] + CALLBACKS


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "runsc_py._interpose",
    '#include "interpose.c"',
    include_dirs=[str(CSRC)],
    libraries=["seccomp"],
    extra_compile_args=["-O2", "-Wall", "-Wno-unused-function"],
    depends=[str(CSRC / name) for name in ("interpose.c", "interpose.h", "answer_cache.c", "waiting.c")],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
