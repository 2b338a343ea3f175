/* dirfd_probe: guess directory fds (0..255) and walk out of them with "..";
 * open every name O_PATH and reopen it through /proc/self/fd; print any
 * content that reads like the secret. Built static for a busybox rootfs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void try(int dirfd, const char *path)
{
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd < 0) return;
    char buf[128] = {0};
    if (read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, "TOPSECRET")) printf("LEAK %d %s: %s", dirfd, path, buf);
    close(fd);
}

int main(void)
{
    const char *names[] = {"../bundle-secret", "../../bundle-secret", "../../../secret", "bundle-secret",
                           "/../bundle-secret", "abs-out", "rel-out"};
    for (int dfd = 0; dfd < 256; dfd++)
        for (unsigned i = 0; i < sizeof names / sizeof *names; i++) try(dfd, names[i]);
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        int p = open(names[i], O_PATH);
        if (p < 0) continue;
        char re[64];
        snprintf(re, sizeof re, "/proc/self/fd/%d", p);
        try(AT_FDCWD, re);
        try(p, "..");
        close(p);
    }
    int root = open("/", O_PATH | O_DIRECTORY);
    try(root, "../../bundle-secret");
    printf("probed\n");
    return 0;
}
