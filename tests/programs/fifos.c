/* FIFO opens as Linux makes them wait (fs/fifo.c), in the directory argv[1].
 *
 * A blocking open waits for a partner: while it waits, other processes
 * keep running, a signal interrupts it (EINTR without SA_RESTART, made
 * again with it), a fatal signal kills the waiter, and a waiter that dies
 * leaves nothing open behind. Every step waits for the other process by
 * its state (sleeping in the open: sleeping.h), never by time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sleeping.h"

static char fifo[4096];
static volatile int *shared_handled;   /* MAP_SHARED: the child sees the handler ran */

static void on_signal(int sig) { (void)sig; (*shared_handled)++; }

static void handle(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static const char *open_result(int flags)
{
    static char out[64];
    int fd = open(fifo, flags);
    if (fd < 0)
        snprintf(out, sizeof out, "errno %s", strerrorname_np(errno));
    else {
        snprintf(out, sizeof out, "fd");
        close(fd);
    }
    return out;
}

/* A reader waits; meanwhile a second process does a hundred calls, then writes. */
static void reader_waits_for_writer(void)
{
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        wait_sleeping(parent);
        struct stat st;
        for (int i = 0; i < 100; i++)
            if (stat("/", &st) < 0 || getppid() != parent)
                _exit(1);
        int fd = open(fifo, O_WRONLY);
        if (write(fd, "x", 1) != 1)
            _exit(2);
        _exit(0);
    }
    int fd = open(fifo, O_RDONLY);
    char c = 0;
    ssize_t n = read(fd, &c, 1);
    close(fd);
    int status;
    waitpid(child, &status, 0);
    printf("reader waited: read %zd '%c', writer exit %d\n", n, c, WEXITSTATUS(status));
}

static void writer_waits_for_reader(void)
{
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        wait_sleeping(parent);
        int fd = open(fifo, O_RDONLY);
        char c = 0;
        _exit(read(fd, &c, 1) == 1 && c == 'y' ? 0 : 3);
    }
    int fd = open(fifo, O_WRONLY);
    ssize_t n = write(fd, "y", 1);
    close(fd);
    int status;
    waitpid(child, &status, 0);
    printf("writer waited: wrote %zd, reader exit %d\n", n, WEXITSTATUS(status));
}

/* SIGUSR1 from a second process while the open waits. With SA_RESTART
 * the open is made again, and the child then gives it its partner. */
static void interrupted(int accmode, int sa_flags)
{
    handle(SIGUSR1, sa_flags);
    *shared_handled = 0;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        wait_sleeping(parent);
        kill(parent, SIGUSR1);
        if (sa_flags & SA_RESTART) {
            while (!*shared_handled)
                sched_yield();
            wait_sleeping(parent);   /* back in its open */
            int fd = open(fifo, accmode == O_RDONLY ? O_WRONLY : O_RDONLY);
            _exit(fd < 0 ? 4 : 0);
        }
        _exit(0);
    }
    int fd = open(fifo, accmode);
    int err = errno;
    int status;
    waitpid(child, &status, 0);
    printf("%s %s: %s, handler ran %d, child exit %d\n", accmode == O_RDONLY ? "reader" : "writer",
           sa_flags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART",
           fd >= 0 ? "opened" : strerrorname_np(err), *shared_handled, WEXITSTATUS(status));
    if (fd >= 0)
        close(fd);
    signal(SIGUSR1, SIG_DFL);
}

/* A waiter killed by a signal, then: nothing of it is left open. */
static void killed_waiter(int sig)
{
    pid_t child = fork();
    if (child == 0) {
        open(fifo, O_RDONLY);
        _exit(5);
    }
    wait_sleeping(child);
    kill(child, sig);
    int status;
    waitpid(child, &status, 0);
    printf("waiter killed by %s: %s; then a non-blocking writer: %s\n", sigabbrev_np(sig),
           WIFSIGNALED(status) && WTERMSIG(status) == sig ? "yes" : "no",
           open_result(O_WRONLY | O_NONBLOCK));
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    shared_handled = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    snprintf(fifo, sizeof fifo, "%s/fifo", argv[1]);
    unlink(fifo);
    if (mkfifo(fifo, 0600) < 0) {
        perror("mkfifo");
        return 1;
    }
    printf("non-blocking reader alone: %s\n", open_result(O_RDONLY | O_NONBLOCK));
    printf("non-blocking writer alone: %s\n", open_result(O_WRONLY | O_NONBLOCK));
    printf("O_RDWR alone: %s\n", open_result(O_RDWR));
    int keep = open(fifo, O_RDONLY | O_NONBLOCK);
    printf("writer with a reader there: %s\n", open_result(O_WRONLY));
    int w = open(fifo, O_WRONLY);
    printf("reader with a writer there: %s\n", open_result(O_RDONLY));
    close(w);
    close(keep);
    reader_waits_for_writer();
    writer_waits_for_reader();
    interrupted(O_RDONLY, 0);
    interrupted(O_WRONLY, 0);
    interrupted(O_RDONLY, SA_RESTART);
    interrupted(O_WRONLY, SA_RESTART);
    killed_waiter(SIGKILL);
    killed_waiter(SIGTERM);
    unlink(fifo);
    return 0;
}
