/* getdents (struct linux_dirent, the legacy call) and getdents64 on the
 * directory argv[1], which holds files named f00..f39: the names each
 * lists (sorted, as the order is the filesystem's), a buffer too small
 * for one entry (EINVAL), a count above INT_MAX (EINVAL), and a buffer
 * whose second page faults (the entries before the fault, then EFAULT
 * once none fit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct linux_dirent {
    unsigned long d_ino;
    unsigned long d_off;
    unsigned short d_reclen;
    char d_name[];
};

static int by_name(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

/* Names in `buf` (n bytes of records), whether each record's type is DT_REG
 * or DT_DIR; returns how many. */
static int names(int legacy, char *buf, long n, char **out, int max, int *types_ok)
{
    int count = 0;
    for (long at = 0; at < n && count < max;) {
        char *name;
        unsigned char type;
        unsigned short reclen;
        if (legacy) {
            struct linux_dirent *d = (struct linux_dirent *)(buf + at);
            name = d->d_name;
            reclen = d->d_reclen;
            type = (unsigned char)buf[at + reclen - 1];
        } else {
            struct dirent64 *d = (struct dirent64 *)(buf + at);
            name = d->d_name;
            reclen = d->d_reclen;
            type = d->d_type;
        }
        if (type != DT_REG && type != DT_DIR)
            *types_ok = 0;
        out[count++] = strdup(name);
        at += reclen;
    }
    return count;
}

static void list(const char *dir, int legacy)
{
    const char *call = legacy ? "getdents" : "getdents64";
    long nr = legacy ? SYS_getdents : SYS_getdents64;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    static char buf[65536];
    char *all[128];
    int n = 0, types_ok = 1;
    for (;;) {
        long got = syscall(nr, fd, buf, 256);   /* a few entries per call */
        if (got <= 0) {
            if (got < 0)
                printf("%s: %s\n", call, strerrorname_np(errno));
            break;
        }
        n += names(legacy, buf, got, all + n, 128 - n, &types_ok);
    }
    qsort(all, n, sizeof *all, by_name);
    printf("%s: %d entries, types %s:", call, n, types_ok ? "ok" : "wrong");
    for (int i = 0; i < n; i++)
        printf(" %s", all[i]);
    printf("\n");

    lseek(fd, 0, SEEK_SET);
    long r = syscall(nr, fd, buf, 8);
    printf("%s with 8 bytes: %ld %s\n", call, r, r < 0 ? strerrorname_np(errno) : "");
    r = syscall(nr, fd, buf, 0x80000000UL);
    printf("%s with count 2^31: %ld %s\n", call, r, r < 0 ? strerrorname_np(errno) : "");

    /* two pages, the second PROT_NONE: the buffer starts 100 bytes before it */
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(pages + 4096, 4096, PROT_NONE);
    lseek(fd, 0, SEEK_SET);
    r = syscall(nr, fd, pages + 4096 - 100, 4096);
    int partial = 0;
    if (r > 0)
        partial = names(legacy, pages + 4096 - 100, r, all, 128, &types_ok);
    printf("%s into a buffer that faults after 100 bytes: %s, %d whole entries\n", call,
           r > 0 && r <= 100 ? "the entries before the fault" : r < 0 ? strerrorname_np(errno) : "?",
           partial > 0);
    lseek(fd, 0, SEEK_SET);
    r = syscall(nr, fd, pages + 4096 - 8, 4096);
    printf("%s into a buffer that faults at once: %ld %s\n", call, r, r < 0 ? strerrorname_np(errno) : "");
    munmap(pages, 8192);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[4096];
    for (int i = 0; i < 40; i++) {
        snprintf(path, sizeof path, "%s/f%02d", argv[1], i);
        close(open(path, O_CREAT | O_WRONLY, 0600));
    }
    list(argv[1], 1);
    list(argv[1], 0);
    return 0;
}
