"""cffi builder for runsc_py._interpose (API mode), run by setuptools at install.

One module of three C files: interpose.c (the loop and the fast path),
hostcalls.c (host calls the os module lacks) and listing.c (the gofer's
readdirplus). The cdef is the part of each header (interpose.h,
hostcalls.h, listing.h) between its RP_CDEF markers, plus the
extern "Python" callbacks (which a C compiler cannot read, so they are
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
HEADERS = ("interpose.h", "hostcalls.h", "listing.h")


def _cdef() -> str:
    parts = []
    for name in HEADERS:
        header = (CSRC / name).read_text()
        parts.append(header[header.index("/* RP_CDEF_BEGIN */"):header.index("/* RP_CDEF_END */")])
    return "".join(parts) + CALLBACKS


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "runsc_py._interpose",
    '#include "interpose.c"\n#include "hostcalls.c"\n#include "listing.c"',
    include_dirs=[str(CSRC)],
    libraries=["seccomp"],
    extra_compile_args=["-O2", "-Wall", "-Wno-unused-function"],
    depends=[str(CSRC / name) for name in ("interpose.c", "interpose.h", "answer_cache.c",
                                           "waiting.c", "hostcalls.c", "hostcalls.h", "listing.c",
                                           "listing.h")],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
