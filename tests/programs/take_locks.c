/* Takes a flock, a POSIX write lock and an OFD write lock (all non-blocking)
 * on DIR/flock, DIR/posix and DIR/ofd, says how each went, holds them for
 * SECONDS, and exits. Static, for a container's rootfs.
 * Usage: take_locks DIR SECONDS */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

static void report(const char *what, int rc)
{
    if (rc == 0)
        printf("%s ok\n", what);
    else
        printf("%s %d\n", what, errno);
    fflush(stdout);
}

static int open_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return open(path, O_RDWR);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    struct flock wr = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    report("flock", flock(open_in(argv[1], "flock"), LOCK_EX | LOCK_NB));
    report("posix", fcntl(open_in(argv[1], "posix"), F_SETLK, &wr));
    report("ofd", fcntl(open_in(argv[1], "ofd"), F_OFD_SETLK, &wr));
    printf("held\n");
    fflush(stdout);
    sleep(atoi(argv[2]));
    return 0;
}
