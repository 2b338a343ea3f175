/* Signals end socket waits as Linux's sock_intr_errno does: accept, recv,
 * recvfrom and recvmsg (TCP and UDP on 127.0.0.1) fail with EINTR after a
 * handler without SA_RESTART, are made again after one with it (then a
 * child gives them what they wait for) unless the socket has a receive
 * timeout, and a fatal signal kills the waiter. The other process waits
 * for the waiter by its state (sleeping, in /proc), never by time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sleeping.h"

enum call { ACCEPT, RECV, RECVFROM, RECVMSG };
static const char *names[] = {"accept", "recv", "recvfrom", "recvmsg"};
static volatile int *handled;   /* MAP_SHARED: the child sees the handler ran */

static void on_signal(int sig) { (void)sig; (*handled)++; }

static struct sockaddr_in bound(int fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("bind");
        exit(1);
    }
    return a;
}

/* The waiting end (`waiter`) and what the child does to end its wait. */
struct pair {
    int waiter;
    struct sockaddr_in addr;   /* accept: the listener's; UDP: the receiver's */
    int peer;                  /* TCP recv: the connected other end */
};

static struct pair make(enum call c)
{
    struct pair p = {.peer = -1};
    if (c == ACCEPT || c == RECV) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        p.addr = bound(l);
        listen(l, 4);
        if (c == ACCEPT) {
            p.waiter = l;
            return p;
        }
        p.peer = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(p.peer, (struct sockaddr *)&p.addr, sizeof p.addr) < 0) {
            perror("connect");
            exit(1);
        }
        p.waiter = accept(l, NULL, NULL);
        close(l);
        return p;
    }
    p.waiter = socket(AF_INET, SOCK_DGRAM, 0);
    p.addr = bound(p.waiter);
    return p;
}

/* What the child does once the waiter is back in its restarted call. */
static int end_wait(enum call c, struct pair *p)
{
    if (c == ACCEPT) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        return connect(s, (struct sockaddr *)&p->addr, sizeof p->addr);
    }
    if (c == RECV)
        return send(p->peer, "z", 1, 0) == 1 ? 0 : -1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    return sendto(s, "z", 1, 0, (struct sockaddr *)&p->addr, sizeof p->addr) == 1 ? 0 : -1;
}

static long wait_in(enum call c, int fd)
{
    char buf[8];
    switch (c) {
    case ACCEPT:
        return accept(fd, NULL, NULL);
    case RECV:
        return recv(fd, buf, sizeof buf, 0);
    case RECVFROM: {
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        return recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    }
    case RECVMSG: {
        struct iovec iov = {buf, sizeof buf};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        return recvmsg(fd, &msg, 0);
    }
    }
    return -1;
}

static void interrupted(enum call c, int sa_flags, int with_timeout)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = sa_flags;
    sigaction(SIGUSR1, &sa, NULL);
    *handled = 0;
    struct pair p = make(c);
    if (with_timeout) {   /* a wait with a timeout is never restarted (sock_intr_errno) */
        struct timeval long_enough = {.tv_sec = 1000};
        setsockopt(p.waiter, SOL_SOCKET, SO_RCVTIMEO, &long_enough, sizeof long_enough);
    }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        wait_sleeping(parent);
        kill(parent, SIGUSR1);
        if (sa_flags & SA_RESTART && !with_timeout) {
            while (!*handled)
                sched_yield();
            wait_sleeping(parent);   /* back in its call */
            _exit(end_wait(c, &p) < 0 ? 4 : 0);
        }
        _exit(0);
    }
    long r = wait_in(c, p.waiter);
    int err = errno;
    int status;
    waitpid(child, &status, 0);
    printf("%s %s%s: %s, handler ran %d, child exit %d\n", names[c],
           sa_flags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART",
           with_timeout ? " and SO_RCVTIMEO" : "",
           r >= 0 ? "returned" : strerrorname_np(err), *handled, WEXITSTATUS(status));
    close(p.waiter);
    if (p.peer >= 0)
        close(p.peer);
    signal(SIGUSR1, SIG_DFL);
}

static void killed(enum call c)
{
    struct pair p = make(c);
    pid_t child = fork();
    if (child == 0) {
        wait_in(c, p.waiter);
        _exit(5);
    }
    wait_sleeping(child);
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    printf("%s killed by TERM: %s\n", names[c],
           WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM ? "yes" : "no");
    close(p.waiter);
    if (p.peer >= 0)
        close(p.peer);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    handled = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (enum call c = ACCEPT; c <= RECVMSG; c++) {
        interrupted(c, 0, 0);
        interrupted(c, SA_RESTART, 0);
        interrupted(c, SA_RESTART, 1);
        killed(c);
    }
    return 0;
}
