/* Kill children at random points of their exec: the sentry must outlive every one. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    for (int i = 0; i < 300; i++) {
        pid_t pid = fork();
        if (pid == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
        if (i % 3) usleep(i % 200);
        kill(pid, SIGKILL);
        waitpid(pid, 0, 0);
    }
    puts("done");
    return 0;
}
