/* Network benchmarks for bench/net.py; each times its own loop and prints one figure.
 *
 *   net throughput MIB   a child writes MIB MiB over loopback TCP (64 KiB writes),
 *                        the parent reads it all: prints MiB/s
 *   net connect N        a child connects and closes N times, the parent accepts
 *                        and closes each: prints connections/s
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listener(struct sockaddr_in *addr)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof *addr;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (void *)addr, sizeof *addr) || listen(s, 128) ||
        getsockname(s, (void *)addr, &len)) {
        perror("listener");
        exit(1);
    }
    return s;
}

static int dial(struct sockaddr_in *addr)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (void *)addr, sizeof *addr)) {
        perror("connect");
        exit(1);
    }
    return c;
}

static void throughput(long mib)
{
    static char buf[65536];
    struct sockaddr_in addr;
    int l = listener(&addr);
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
        int c = dial(&addr);
        for (long i = 0; i < mib * 16; i++)
            for (size_t off = 0; off < sizeof buf;) {
                ssize_t n = write(c, buf + off, sizeof buf - off);
                if (n <= 0)
                    _exit(1);
                off += n;
            }
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    long total = 0;
    ssize_t n;
    while ((n = read(s, buf, sizeof buf)) > 0)
        total += n;
    waitpid(pid, NULL, 0);
    double dt = now() - t0;
    if (total != mib << 20) {
        fprintf(stderr, "short transfer: %ld\n", total);
        exit(1);
    }
    printf("%.1f\n", mib / dt);
}

static void connects(long n)
{
    struct sockaddr_in addr;
    int l = listener(&addr);
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
        for (long i = 0; i < n; i++) {
            int c = dial(&addr);
            char b;
            if (read(c, &b, 1) < 0)  /* wait for the server's close */
                _exit(1);
            close(c);
        }
        _exit(0);
    }
    for (long i = 0; i < n; i++) {
        int s = accept(l, NULL, NULL);
        if (s < 0) {
            perror("accept");
            exit(1);
        }
        close(s);
    }
    waitpid(pid, NULL, 0);
    printf("%.0f\n", n / (now() - t0));
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: net throughput MIB | net connect N\n");
        return 2;
    }
    if (!strcmp(argv[1], "throughput"))
        throughput(atol(argv[2]));
    else
        connects(atol(argv[2]));
    return 0;
}
