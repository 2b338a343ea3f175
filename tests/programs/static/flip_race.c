/* flip_race ITERS: one thread keeps swapping "flip" between a directory and a
 * symlink to "../.." (renaming prepared names over it), the other opens
 * "flip/bundle-secret" as fast as it can. Run in the rootfs's /tmp: in the
 * sandbox "../.." stops at its root, where there is no bundle-secret, but a
 * host that followed the link would reach the bundle directory beside the
 * rootfs. Prints every distinct content read: only "decoy" may appear.
 * Built static: it runs in a busybox-only rootfs. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile int done;

static void *flipper(void *arg)
{
    (void)arg;
    while (!done) {
        symlink("../..", "link.tmp");
        rename("link.tmp", "flip");          /* flip -> "../.." */
        mkdir("dir.tmp", 0755);
        int fd = open("dir.tmp/bundle-secret", O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) { write(fd, "decoy\n", 6); close(fd); }
        unlink("flip");
        rename("dir.tmp", "flip");           /* flip/ is a directory again */
        unlink("flip/bundle-secret");
        rmdir("flip");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 2000;
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    const char *paths[] = {"flip/bundle-secret", "flip/./bundle-secret", "./flip/bundle-secret"};
    char seen[8][64];
    int nseen = 0;
    for (long i = 0; i < iters; i++) {
        int fd = open(paths[i % 3], O_RDONLY);
        if (fd < 0) continue;
        char buf[64] = {0};
        int n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        int known = 0;
        for (int j = 0; j < nseen; j++) known |= !strcmp(seen[j], buf);
        if (!known && nseen < 8) { strcpy(seen[nseen++], buf); printf("read: %s", buf); }
    }
    done = 1;
    pthread_join(t, NULL);
    printf("race done\n");
    return 0;
}
