/* mount_calls NAME: make one mount-family call with plausible arguments; print its errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "mount";
    long rc = -1;
    errno = 0;
    if (!strcmp(name, "mount")) rc = syscall(SYS_mount, "/", "/tmp", NULL, 0x1000 /* MS_BIND */, NULL);
    else if (!strcmp(name, "umount2")) rc = syscall(SYS_umount2, "/proc", 2 /* MNT_DETACH */);
    else if (!strcmp(name, "pivot_root")) rc = syscall(SYS_pivot_root, "/tmp", "/tmp");
    else if (!strcmp(name, "open_tree")) rc = syscall(428, -100, "/", 1 /* OPEN_TREE_CLONE */);
    else if (!strcmp(name, "move_mount")) rc = syscall(429, -100, "/proc", -100, "/tmp", 0);
    printf("%s: errno=%d\n", name, rc < 0 ? errno : 0);
    return 0;
}
