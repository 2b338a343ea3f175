/*
 * listing.c — the gofer's readdirplus (runsc_py/gofer/server.py, READDIR and
 * LISTED replies), in C because a walk lists every directory once: in
 * Python the gofer spent ~10 us per entry building what the kernel hands
 * over in ~1.
 *
 * rp_list_entries reads every name of an open directory (getdents64 from
 * offset 0, "." and ".." left out), sorts them bytewise (as Python sorts
 * bytes), and writes the entries from `offset`, at most `max_entries`, in
 * the protocol's layout (runsc_py/gofer/protocol.py):
 *   DIRENT "<QBHH"  ino, file type (S_IFMT >> 12, 0: vanished), name length,
 *                   link length
 *   name, then STAT "<IQQQIIQqqqqqq" (zeros when vanished), then the link
 *   target of a symlink.
 * Attributes are lstat's (fstatat with AT_SYMLINK_NOFOLLOW: no name is
 * followed). The directory's offset is put back to 0. Returns the bytes
 * written and sets *more when entries remain past the last one written;
 * -errno on failure (-ENOBUFS: `cap` too small for the entries asked).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "listing.h"

#define DIRENT_SIZE 13
#define STAT_SIZE 84
#define LINK_MAX_BYTES 4096

struct names {
    char *buf;       /* the names, NUL-terminated, one after another */
    size_t used, size;
    char **at;       /* where each starts */
    size_t n, slots;
};

static void names_free(struct names *s)
{
    free(s->buf);
    free(s->at);
}

static int names_add(struct names *s, const char *name)
{
    size_t len = strlen(name) + 1;
    if (s->used + len > s->size) {
        size_t size = s->size ? s->size * 2 : 16384;
        while (size < s->used + len)
            size *= 2;
        char *buf = realloc(s->buf, size);
        if (!buf)
            return -ENOMEM;
        s->buf = buf;
        s->size = size;
    }
    if (s->n == s->slots) {
        size_t slots = s->slots ? s->slots * 2 : 256;
        char **at = realloc(s->at, slots * sizeof *at);
        if (!at)
            return -ENOMEM;
        s->at = at;
        s->slots = slots;
    }
    memcpy(s->buf + s->used, name, len);
    s->at[s->n++] = (char *)(uintptr_t)s->used;   /* an offset until the buffer stops moving */
    s->used += len;
    return 0;
}

static int read_names(int dirfd, struct names *s)
{
    char chunk[32768];
    if (lseek(dirfd, 0, SEEK_SET) < 0)
        return -errno;
    for (;;) {
        long n = syscall(SYS_getdents64, dirfd, chunk, sizeof chunk);
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        for (long at = 0; at < n;) {
            struct dirent64 *d = (struct dirent64 *)(chunk + at);
            at += d->d_reclen;
            if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
                int rc = names_add(s, d->d_name);
                if (rc < 0)
                    return rc;
            }
        }
    }
    for (size_t i = 0; i < s->n; i++)
        s->at[i] = s->buf + (uintptr_t)s->at[i];
    return 0;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);   /* unsigned, as bytes compare */
}

static char *put(char *p, const void *v, size_t n)
{
    memcpy(p, v, n);
    return p + n;
}

static char *put_stat(char *p, const struct stat *st)
{
    uint32_t mode = st->st_mode, uid = st->st_uid, gid = st->st_gid;
    uint64_t ino = st->st_ino, dev = st->st_dev, nlink = st->st_nlink, rdev = st->st_rdev;
    int64_t rest[6] = {
        st->st_size, st->st_blksize, st->st_blocks,
        st->st_atim.tv_sec * 1000000000LL + st->st_atim.tv_nsec,
        st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec,
        st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec,
    };
    p = put(p, &mode, 4);
    p = put(p, &ino, 8);
    p = put(p, &dev, 8);
    p = put(p, &nlink, 8);
    p = put(p, &uid, 4);
    p = put(p, &gid, 4);
    p = put(p, &rdev, 8);
    return put(p, rest, sizeof rest);
}

static int64_t write_entry(int dirfd, const char *name, char *p, char *end)
{
    size_t name_len = strlen(name);
    if ((size_t)(end - p) < DIRENT_SIZE + name_len + STAT_SIZE + LINK_MAX_BYTES)
        return -ENOBUFS;
    char *start = p;
    struct stat st;
    char link[LINK_MAX_BYTES];
    long link_len = 0;
    int found = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (found && S_ISLNK(st.st_mode)) {
        link_len = readlinkat(dirfd, name, link, sizeof link);
        if (link_len < 0)
            found = 0, link_len = 0;   /* replaced since: as if vanished */
    }
    uint64_t ino = found ? st.st_ino : 0;
    uint8_t type = found ? (uint8_t)((st.st_mode & S_IFMT) >> 12) : 0;
    uint16_t n = (uint16_t)name_len, nl = (uint16_t)link_len;
    p = put(p, &ino, 8);
    p = put(p, &type, 1);
    p = put(p, &n, 2);
    p = put(p, &nl, 2);
    p = put(p, name, name_len);
    if (found)
        p = put_stat(p, &st);
    else
        p = memset(p, 0, STAT_SIZE), p += STAT_SIZE;
    p = put(p, link, (size_t)link_len);
    return p - start;
}

int64_t rp_list_entries(int dirfd, uint32_t offset, uint32_t max_entries, char *out,
                        uint64_t cap, int *more)
{
    struct names s = {0};
    int64_t rc = read_names(dirfd, &s);
    lseek(dirfd, 0, SEEK_SET);
    if (rc < 0) {
        names_free(&s);
        return rc;
    }
    qsort(s.at, s.n, sizeof *s.at, by_bytes);
    char *p = out, *end = out + cap;
    size_t last = offset;
    for (size_t i = offset; i < s.n && i - offset < max_entries; i++, last = i) {
        int64_t n = write_entry(dirfd, s.at[i], p, end);
        if (n < 0) {
            names_free(&s);
            return n;
        }
        p += n;
    }
    *more = last < s.n;
    names_free(&s);
    return p - out;
}
