/* fork + exec(argv[1]) + waitpid, argv[2] times; prints microseconds per round. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int n = atoi(argv[2]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) { execl(argv[1], argv[1], (char *)0); _exit(127); }
        waitpid(p, 0, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.1f us\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000);
    return 0;
}
