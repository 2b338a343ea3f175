/* fileio DIR MIB: write MIB MiB to DIR/bench.dat in 1 MiB chunks, read it back twice,
 * map it and sum it; print {"write_mibs":..,"read_mibs":..,"mmap_mibs":..} as one JSON line.
 * The file is created by open(2), so in the sandbox it is made by the sentry and
 * the bytes go natively to its host inode (tmpfs: a memfd-like inode). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long mib = atol(argv[2]);
    char path[4096];
    snprintf(path, sizeof path, "%s/bench.dat", argv[1]);
    static char buf[CHUNK];
    memset(buf, 'x', sizeof buf);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror("open"); return 1; }
    double t0 = now();
    for (long i = 0; i < mib; i++)
        if (write(fd, buf, CHUNK) != CHUNK) { perror("write"); return 1; }
    double t1 = now();
    double best_read = 1e9;
    for (int pass = 0; pass < 2; pass++) {
        double r0 = now();
        for (long i = 0; i < mib; i++)
            if (pread(fd, buf, CHUNK, i * (long)CHUNK) != CHUNK) { perror("read"); return 1; }
        double r = now() - r0;
        if (r < best_read) best_read = r;
    }
    double m0 = now();
    unsigned char *map = mmap(NULL, mib * (size_t)CHUNK, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) { perror("mmap"); return 1; }
    unsigned long sum = 0;
    for (size_t i = 0; i < mib * (size_t)CHUNK; i += 64) sum += map[i];
    double m = now() - m0;
    munmap(map, mib * (size_t)CHUNK);
    close(fd);
    unlink(path);
    printf("{\"write_mibs\": %.1f, \"read_mibs\": %.1f, \"mmap_mibs\": %.1f, \"sum\": %lu}\n",
           mib / (t1 - t0), mib / best_read, mib / m, sum);
    return 0;
}
