/* fuzz SEED COUNT NR...: make COUNT syscalls, each one of the NRs with
 * arguments drawn from a pool a syscall fuzzer would use: small ints and
 * fds, flags, AT_FDCWD, sizes, pointers to a scratch buffer of random bytes
 * or to real paths, NULL and unmapped pointers. Exits 0 if it got through;
 * the test checks that the sandbox did too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t state;
static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static char scratch[8192];
static const char *PATHS[] = {"/etc/passwd", "/etc", "/", ".", "..", "/proc/self/exe", "/dev/null",
                              "/no/such", "", "/etc/passwd/", "../../../../etc", "/proc/1/cwd/x"};

static long pick_arg(void)
{
    switch (next() % 12) {
    case 0: return (long)(next() % 8);                       /* small ints, fds 0..7 */
    case 1: return (long)(next() % 64);
    case 2: return -100;                                     /* AT_FDCWD */
    case 3: return -1;
    case 4: return (long)(next() & 0xFFFFFFFF);              /* flag soup */
    case 5: return (long)(scratch + next() % 4096);          /* random bytes, valid memory */
    case 6: return (long)PATHS[next() % (sizeof PATHS / sizeof *PATHS)];
    case 7: return 0;                                        /* NULL */
    case 8: return 1;                                        /* unmapped, tiny */
    case 9: return (long)0xdeadbeef000;                      /* unmapped, large */
    case 10: return (long)(scratch + sizeof scratch - 1);    /* last byte before the end */
    default: return (long)(next() % 4096);                   /* sizes */
    }
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    state = strtoull(argv[1], NULL, 0) | 1;
    long count = atol(argv[2]);
    for (size_t i = 0; i < sizeof scratch; i++)
        scratch[i] = (char)next();
    scratch[sizeof scratch - 1] = 0;
    for (long i = 0; i < count; i++) {
        long nr = atol(argv[3 + next() % (uint64_t)(argc - 3)]);
        syscall(nr, pick_arg(), pick_arg(), pick_arg(), pick_arg(), pick_arg(), pick_arg());
    }
    return 0;
}
