/* The pids and uids in every siginfo_t a process reads: a handler's (kill,
 * tgkill, sigqueue, SIGCHLD), sigwaitinfo's and waitid's, and a signalfd's
 * records (read, readv, through a dup). Each sender first
 * takes a real uid of its own (keeping euid 0, so it may still signal its
 * root parent). Run as root natively and sandboxed: the lines must match. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static siginfo_t seen;

static void handler(int sig, siginfo_t *info, void *ctx)
{
    (void)sig; (void)ctx;
    seen = *info;
    got = 1;
}

static void show(const char *what, const siginfo_t *si, pid_t child)
{
    printf("%-22s signo %d code %d pid %s uid %u", what, si->si_signo, si->si_code,
           si->si_pid == child ? "child" : si->si_pid == getpid() ? "self" : "other",
           (unsigned)si->si_uid);
    if (si->si_signo == SIGCHLD)
        printf(" status %d", si->si_status);
    printf("\n");
    fflush(stdout);
}

static void show_record(const char *what, const struct signalfd_siginfo *si, pid_t child)
{
    printf("%-22s signo %u code %d pid %s uid %u", what, si->ssi_signo, si->ssi_code,
           (pid_t)si->ssi_pid == child ? "child" : (pid_t)si->ssi_pid == getpid() ? "self" : "other",
           si->ssi_uid);
    if (si->ssi_signo == SIGCHLD)
        printf(" status %d", si->ssi_status);
    printf("\n");
    fflush(stdout);
}

/* A child that becomes real uid `uid` (euid stays 0) and then does `how`. */
static pid_t child_as(uid_t uid, int how)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (setresuid(uid, 0, 0)) { perror("setresuid"); _exit(2); }
    switch (how) {
    case 0: kill(parent, SIGUSR1); break;
    case 1: syscall(SYS_tgkill, parent, parent, SIGUSR1); break;
    case 2: sigqueue(parent, SIGUSR1, (union sigval){.sival_int = 42}); break;
    case 3: kill(parent, SIGUSR2); break;
    case 4: setresuid(uid, uid, uid); break;   /* then exit: SIGCHLD, waitid */
    }
    _exit(7);
}

/* Wait for the handler to run for `sig` alone (the others stay blocked). */
static void await_handler(int sig, const char *what, pid_t child)
{
    sigset_t others;
    sigfillset(&others);
    sigdelset(&others, sig);
    while (!got)
        sigsuspend(&others);
    got = 0;
    show(what, &seen, child);
}

int main(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, NULL);

    pid_t c = child_as(1001, 0);
    await_handler(SIGUSR1, "kill -> handler", c);
    waitpid(c, NULL, 0);   /* its SIGCHLD stays pending: taken below */
    await_handler(SIGCHLD, "SIGCHLD (euid 0)", c);

    c = child_as(1002, 1);
    await_handler(SIGUSR1, "tgkill -> handler", c);
    waitpid(c, NULL, 0); await_handler(SIGCHLD, "SIGCHLD", c);

    c = child_as(1003, 2);
    await_handler(SIGUSR1, "sigqueue -> handler", c);
    printf("sigqueue value %d\n", seen.si_value.sival_int);
    waitpid(c, NULL, 0); await_handler(SIGCHLD, "SIGCHLD", c);

    c = child_as(1004, 3);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    siginfo_t si;
    if (sigwaitinfo(&usr2, &si) == SIGUSR2)
        show("kill -> sigwaitinfo", &si, c);
    waitpid(c, NULL, 0); await_handler(SIGCHLD, "SIGCHLD", c);

    c = child_as(1005, 4);
    await_handler(SIGCHLD, "SIGCHLD of setuid'd", c);
    memset(&si, 0, sizeof si);
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    show("waitid WNOWAIT", &si, c);
    memset(&si, 0, sizeof si);
    waitid(P_ALL, 0, &si, WEXITED);
    show("waitid", &si, c);

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    c = child_as(1006, 4);
    if (sigwaitinfo(&chld, &si) == SIGCHLD)
        show("SIGCHLD sigwaitinfo", &si, c);
    struct timespec ts = {5, 0};
    waitpid(c, NULL, 0);
    c = child_as(1007, 0);
    if (sigtimedwait(&block, &si, &ts) > 0)
        show("kill -> sigtimedwait", &si, c);
    waitpid(c, NULL, 0);
    struct timespec none = {0, 0};
    while (sigtimedwait(&chld, &si, &none) > 0)   /* the last child's SIGCHLD */
        ;

    int sfd = signalfd(-1, &block, SFD_CLOEXEC);
    struct signalfd_siginfo rec;
    c = child_as(1008, 0);
    if (read(sfd, &rec, sizeof rec) == sizeof rec)
        show_record("kill -> signalfd", &rec, c);
    waitpid(c, NULL, 0);
    if (read(sfd, &rec, sizeof rec) == sizeof rec)
        show_record("SIGCHLD signalfd", &rec, c);
    int copy = dup(sfd);   /* a record split across two buffers, through a copy */
    struct iovec iov[2] = {{&rec, 14}, {(char *)&rec + 14, sizeof rec - 14}};
    c = child_as(1009, 2);
    if (readv(copy, iov, 2) == sizeof rec)
        show_record("sigqueue -> readv", &rec, c);
    waitpid(c, NULL, 0);
    if (read(copy, &rec, sizeof rec) == sizeof rec)
        show_record("SIGCHLD dup'd signalfd", &rec, c);
    close(sfd);
    close(copy);
    int p[2];   /* takes the numbers the signalfds had, whose reads stay traced */
    if (pipe(p) == 0 && write(p[1], "reused fd reads\n", 16) == 16) {
        char line[32];
        ssize_t n = read(p[0], line, sizeof line);
        printf("%d %.*s", p[0] == sfd, (int)(n > 0 ? n : 0), line);
    }
    return 0;
}
