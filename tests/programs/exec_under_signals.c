/* Exec while SIGCHLDs arrive (a handler without SA_RESTART), many times:
 * a signal may withdraw the sentry's exec steps midway. If exec ever
 * "returns", print it: the sentry lost the exec. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_chld(int sig) { (void)sig; }

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 40;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;  /* no SA_RESTART */
    sigaction(SIGCHLD, &sa, NULL);
    for (int r = 0; r < rounds; r++) {
        pid_t p = fork();
        if (p == 0) {
            for (int k = 0; k < 30; k++)
                if (fork() == 0) {
                    usleep((unsigned)(k % 5) * 200);
                    _exit(0);
                }
            execl("/bin/true", "true", (char *)NULL);
            printf("exec returned in round %d\n", r);
            _exit(3);
        }
        int st;
        /* we are pid 1 in the sandbox: orphaned grandchildren's SIGCHLDs
         * reach us and interrupt waitpid */
        while (waitpid(p, &st, 0) < 0)
            if (errno != EINTR)
                return 2;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("round %d: status %d\n", r, st);
            return 1;
        }
    }
    puts("ok");
    return 0;
}
