/* micro MODE ITERS: time one operation in a loop, print one JSON line.
 *
 * Timing is taken inside the program around the loop only, so the
 * runtime's start-up cost is not in the figure (bench/run.py times
 * start-up separately).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void loop_getppid(long n) { for (long i = 0; i < n; i++) syscall(SYS_getppid); }

static void loop_uname(long n)
{
    struct utsname u;
    for (long i = 0; i < n; i++) syscall(SYS_uname, &u);
}

static void loop_stat(long n)
{
    struct stat st;
    for (long i = 0; i < n; i++) stat("/etc/passwd", &st);
}

static void loop_stat_relative(long n)
{
    struct stat st;
    if (chdir("/etc") != 0)
        return;
    for (long i = 0; i < n; i++) stat("passwd", &st);
}

static void loop_open(long n)
{
    char buf[256];
    for (long i = 0; i < n; i++) {
        int fd = open("/etc/passwd", O_RDONLY);
        if (read(fd, buf, sizeof buf) < 0) exit(1);
        close(fd);
    }
}

static void loop_fork(long n)
{
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        waitpid(p, NULL, 0);
    }
}

static void loop_exec(long n)
{
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        waitpid(p, NULL, 0);
    }
}

/* n chunks of 64 KiB through a pipe; the figure is per chunk */
static void loop_pipe(long n)
{
    int fds[2];
    static char buf[CHUNK];
    if (pipe(fds)) exit(1);
    pid_t p = fork();
    if (p == 0) {
        close(fds[0]);
        for (long i = 0; i < n; i++)
            for (size_t off = 0; off < CHUNK;) {
                ssize_t w = write(fds[1], buf + off, CHUNK - off);
                if (w <= 0) _exit(1);
                off += (size_t)w;
            }
        _exit(0);
    }
    close(fds[1]);
    while (read(fds[0], buf, CHUNK) > 0)
        ;
    waitpid(p, NULL, 0);
}

static long thread_iters;
static void *thread_main(void *arg)
{
    (void)arg;
    loop_getppid(thread_iters);
    return NULL;
}

/* 4 threads doing getppid: n is the total */
static void loop_threads(long n)
{
    pthread_t t[4];
    thread_iters = n / 4;
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_main, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
}

static const struct { const char *name; void (*run)(long); } MODES[] = {
    {"getppid", loop_getppid}, {"uname", loop_uname}, {"stat", loop_stat},
    {"stat_relative", loop_stat_relative},
    {"open_read_close", loop_open}, {"pipe", loop_pipe}, {"fork", loop_fork},
    {"fork_exec", loop_exec}, {"threads_getppid", loop_threads},
};

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: micro MODE ITERS\n");
        return 2;
    }
    long n = atol(argv[2]);
    for (size_t i = 0; i < sizeof MODES / sizeof MODES[0]; i++)
        if (!strcmp(argv[1], MODES[i].name)) {
            double t0 = now_ns();
            MODES[i].run(n);
            double t1 = now_ns();
            printf("{\"name\": \"%s\", \"iters\": %ld, \"ns_per_op\": %.1f}\n", argv[1], n, (t1 - t0) / n);
            return 0;
        }
    fprintf(stderr, "micro: unknown mode %s\n", argv[1]);
    return 2;
}
