/* unshare(2) without namespaces: 0 and the no-op flags succeed, a
 * namespace is refused (EPERM in the sandbox, which offers none; natively
 * root may: not printed), and CLONE_FILES gives a process that shared its
 * fd table with another (clone(CLONE_FILES)) a table of its own: its
 * closes no longer reach the other. CLONE_FS likewise for the cwd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int shared_fd;
static int do_unshare;

static int child(void *arg)
{
    (void)arg;
    if (do_unshare && unshare(CLONE_FILES | CLONE_FS) < 0)
        return 10;
    close(shared_fd);
    if (chdir("/tmp") < 0)
        return 11;
    return 0;
}

static void shared(int unshare_first)
{
    static char stack[65536];
    shared_fd = open("/dev/null", O_RDONLY);
    do_unshare = unshare_first;
    if (chdir("/") < 0)
        exit(1);
    pid_t pid = clone(child, stack + sizeof stack, CLONE_FILES | CLONE_FS | SIGCHLD, NULL);
    int status;
    waitpid(pid, &status, 0);
    char cwd[256];
    printf("%s: child exit %d, the parent's fd %s, the parent's cwd %s\n",
           unshare_first ? "unshared" : "shared", WEXITSTATUS(status),
           fcntl(shared_fd, F_GETFD) < 0 ? "closed" : "open", getcwd(cwd, sizeof cwd));
    close(shared_fd);
}

static const char *result(int r) { return r == 0 ? "ok" : strerrorname_np(errno); }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("unshare(0): %s\n", result(unshare(0)));
    printf("unshare(CLONE_FILES|CLONE_FS|CLONE_SYSVSEM): %s\n",
           result(unshare(CLONE_FILES | CLONE_FS | CLONE_SYSVSEM)));
    printf("unshare(CLONE_THREAD|CLONE_VM|CLONE_SIGHAND), one thread: %s\n",
           result(unshare(CLONE_THREAD | CLONE_VM | CLONE_SIGHAND)));
    printf("unshare(a bad flag): %s\n", result(unshare(0x1)));
    shared(0);
    shared(1);
    return 0;
}
