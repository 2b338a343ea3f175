/* fork never fails with EINTR: a second process keeps signalling this one
 * (a handler without SA_RESTART) while it forks again and again. Linux
 * restarts a fork a signal interrupts (-ERESTARTNOINTR); a trapped fork a
 * signal withdrew before the sentry saw it must be made again too. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig) { (void)sig; got++; }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getpid();
    pid_t pest = fork();
    if (pest == 0) {
        for (;;) {
            if (kill(parent, SIGUSR1) < 0)
                _exit(0);
            usleep(50);
        }
    }
    int failed = 0, eintr = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t child = fork();
        if (child == 0)
            _exit(0);
        if (child < 0) {
            failed++;
            eintr += errno == EINTR;
            continue;
        }
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    kill(pest, SIGKILL);
    waitpid(pest, NULL, 0);
    printf("forks failed: %d, with EINTR: %d, signals handled: %s\n", failed, eintr, got ? "some" : "none");
    return 0;
}
