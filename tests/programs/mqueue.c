/* POSIX message queues: names and their errnos, priorities, timeouts,
 * attributes, notification by signal, close-on-exec, the status a read
 * gives, and who may open and unlink a queue. Each line is a step and its
 * result or errno name; run natively (in an IPC namespace of its own) and
 * sandboxed, as root, the outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(void)
{
    static const int codes[] = {EACCES, ENOENT, EEXIST, EINVAL, EAGAIN, ETIMEDOUT, ENAMETOOLONG,
                                EPERM, EBADF, EMSGSIZE};
    static const char *names[] = {"EACCES", "ENOENT", "EEXIST", "EINVAL", "EAGAIN", "ETIMEDOUT",
                                  "ENAMETOOLONG", "EPERM", "EBADF", "EMSGSIZE"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (errno == codes[i])
            return names[i];
    return strerror(errno);
}

static void show(const char *what, long rc)
{
    if (rc < 0)
        printf("%s: %s\n", what, err());
    else
        printf("%s: %ld\n", what, rc);
}

static long raw_open(const char *name, int flags, int mode, struct mq_attr *attr)
{
    return syscall(SYS_mq_open, name, flags, mode, attr);
}

static volatile sig_atomic_t notified;
static void on_usr1(int sig) { (void)sig; notified = 1; }

static void as_user(const char *what, const char *name, int flags)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(1000) < 0 || setuid(1000) < 0)
            _exit(3);
        char label[80];
        snprintf(label, sizeof label, "uid 1000 %s", what);
        if (flags < 0)
            show(label, mq_unlink(name));
        else {
            mqd_t q = mq_open(name, flags);
            show(label, q < 0 ? -1 : 0);
        }
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* children print too */
    umask(022);
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 32};
    mqd_t q = mq_open("/rp-q", O_CREAT | O_EXCL | O_RDWR, 0640, &attr);
    show("create", q < 0 ? -1 : 0);
    show("create again, O_EXCL", mq_open("/rp-q", O_CREAT | O_EXCL | O_RDWR, 0640, &attr));
    show("cloexec", fcntl(q, F_GETFD) & FD_CLOEXEC);
    show("open missing", mq_open("/rp-none", O_RDONLY));
    show("raw: a slash inside", raw_open("a/b", O_CREAT | O_RDWR, 0600, NULL));
    show("raw: empty name", raw_open("", O_CREAT | O_RDWR, 0600, NULL));
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    show("raw: long name", raw_open(longname, O_CREAT | O_RDWR, 0600, NULL));
    struct mq_attr bad = {.mq_maxmsg = 0, .mq_msgsize = 32};
    show("maxmsg 0", mq_open("/rp-bad", O_CREAT | O_RDWR, 0600, &bad));
    show("send low", mq_send(q, "low", 3, 1));
    show("send high", mq_send(q, "high", 4, 9));
    show("send too long", mq_send(q, "0123456789012345678901234567890123", 34, 0));
    char buf[64];
    unsigned prio;
    long n = mq_receive(q, buf, sizeof buf, &prio);
    printf("receive: %.*s prio %u\n", (int)(n < 0 ? 0 : n), buf, prio);
    struct mq_attr now;
    mq_getattr(q, &now);
    printf("attr: maxmsg %ld msgsize %ld curmsgs %ld\n", now.mq_maxmsg, now.mq_msgsize,
           now.mq_curmsgs);
    char status[128] = {0};
    show("read status", read(q, status, sizeof status - 1) > 0);
    printf("status starts: %.6s\n", status);
    mq_receive(q, buf, sizeof buf, &prio);
    struct timespec soon;
    clock_gettime(CLOCK_REALTIME, &soon);
    soon.tv_nsec += 50 * 1000 * 1000;
    if (soon.tv_nsec >= 1000000000) {
        soon.tv_sec++;
        soon.tv_nsec -= 1000000000;
    }
    show("timedreceive empty", mq_timedreceive(q, buf, sizeof buf, &prio, &soon));
    mqd_t nb = mq_open("/rp-q", O_RDONLY | O_NONBLOCK);
    show("nonblocking receive empty", mq_receive(nb, buf, sizeof buf, &prio));
    signal(SIGUSR1, on_usr1);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    show("notify", mq_notify(q, &ev));
    pid_t child = fork();
    if (child == 0) {
        mqd_t w = mq_open("/rp-q", O_WRONLY);
        mq_send(w, "wake", 4, 0);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    for (int i = 0; i < 500 && !notified; i++)
        usleep(10000);
    printf("notified: %d\n", (int)notified);
    as_user("opens for reading (0640, not its)", "/rp-q", O_RDONLY);
    mqd_t open_q = mq_open("/rp-open", O_CREAT | O_RDWR, 0666, NULL);
    show("create 0666 (umask 022)", open_q < 0 ? -1 : 0);
    as_user("opens 0644 for reading", "/rp-open", O_RDONLY);
    as_user("opens 0644 for writing", "/rp-open", O_WRONLY);
    as_user("unlinks root's queue", "/rp-open", -1);
    show("unlink", mq_unlink("/rp-q"));
    show("unlink again", mq_unlink("/rp-q"));
    show("open unlinked", mq_open("/rp-q", O_RDONLY));
    show("send on the still-open fd", mq_send(q, "x", 1, 0));
    show("unlink the other", mq_unlink("/rp-open"));
    return 0;
}
