/* File locks between two processes: flock, POSIX record locks and OFD locks.
 *
 * Run natively and sandboxed on a file named by argv[1]; the output must be
 * the same. Pids are printed as who they are (parent, child), never as numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *path;
static pid_t parent;

#define SAY(...) do { printf(__VA_ARGS__); fflush(stdout); } while (0)

static const char *err(int rc) { return rc == 0 ? "ok" : strerrorname_np(errno); }

static int setlk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
    struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };
    return fcntl(fd, cmd, &fl);
}

static void getlk(const char *what, int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    if (fcntl(fd, cmd, &fl) < 0) {
        SAY("%s: getlk %s\n", what, strerrorname_np(errno));
        return;
    }
    if (fl.l_type == F_UNLCK) {
        SAY("%s: unlocked\n", what);
        return;
    }
    const char *who = fl.l_pid == parent ? "parent" : fl.l_pid == -1 ? "-1"
                    : fl.l_pid == getpid() ? "self" : "other";
    SAY("%s: %s start=%lld len=%lld whence=%d pid=%s\n", what, fl.l_type == F_WRLCK ? "W" : "R",
        (long long)fl.l_start, (long long)fl.l_len, fl.l_whence, who);
}

static int reopen(int flags) { return open(path, flags); }

/* Run fn in a child (its own open of the file), wait for it. */
static void in_child(void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

/* -- flock ------------------------------------------------------------ */

static void child_flock(void)
{
    int fd = reopen(O_RDONLY);
    SAY("child flock EX|NB: %s\n", err(flock(fd, LOCK_EX | LOCK_NB)));
    SAY("child flock SH|NB: %s\n", err(flock(fd, LOCK_SH | LOCK_NB)));
}

static void test_flock(void)
{
    int fd = reopen(O_RDWR);
    SAY("flock bad op: %s\n", err(flock(fd, 3)));
    SAY("flock EX: %s\n", err(flock(fd, LOCK_EX)));
    in_child(child_flock);                       /* EWOULDBLOCK twice */
    SAY("flock convert SH: %s\n", err(flock(fd, LOCK_SH)));
    in_child(child_flock);                       /* EX refused, SH granted */
    int other = reopen(O_RDONLY);                /* a second description of the same file */
    SAY("second description EX|NB: %s\n", err(flock(other, LOCK_EX | LOCK_NB)));
    int dupd = dup(fd);
    close(fd);                                   /* the description lives on in dupd */
    SAY("after close of one fd, EX|NB elsewhere: %s\n", err(flock(other, LOCK_EX | LOCK_NB)));
    close(dupd);                                 /* its last fd: the lock goes */
    SAY("after the last fd, EX|NB elsewhere: %s\n", err(flock(other, LOCK_EX | LOCK_NB)));
    SAY("flock UN: %s\n", err(flock(other, LOCK_UN)));
    close(other);
}

/* -- POSIX record locks ------------------------------------------------ */

static int shared_fd;

static void child_posix_view(void)
{
    int fd = reopen(O_RDWR);
    getlk("at 5", fd, F_GETLK, F_RDLCK, 5, 1);
    getlk("at 15", fd, F_GETLK, F_WRLCK, 15, 1);
    getlk("at 25 write", fd, F_GETLK, F_WRLCK, 25, 1);
    getlk("at 25 read", fd, F_GETLK, F_RDLCK, 25, 1);
    getlk("at 100", fd, F_GETLK, F_WRLCK, 100, 1);
    getlk("at 18", fd, F_GETLK, F_WRLCK, 18, 1);
    getlk("at 292", fd, F_GETLK, F_WRLCK, 292, 1);
    SAY("child setlk at 5: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, 1)));
    SAY("child read lock at 25: %s\n", err(setlk(fd, F_SETLK, F_RDLCK, SEEK_SET, 25, 1)));
}

static void test_posix(void)
{
    int fd = reopen(O_RDWR);
    shared_fd = fd;
    SAY("W 0..10: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10)));
    SAY("R 20..30: %s\n", err(setlk(fd, F_SETLK, F_RDLCK, SEEK_SET, 20, 10)));
    SAY("W from 200 to EOF: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 200, 0)));
    in_child(child_posix_view);
    getlk("own locks", fd, F_GETLK, F_WRLCK, 0, 0);   /* a process never conflicts with itself */
    /* split: unlock 3..5 out of 0..10 */
    SAY("unlock 3..5: %s\n", err(setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 3, 2)));
    in_child(child_posix_view);
    /* merge: 10..20 joins 5..10 */
    SAY("W 10..20: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 10)));
    /* downgrade the middle: split into W 5..7, R 7..9, W 9..20 */
    SAY("R 7..9: %s\n", err(setlk(fd, F_SETLK, F_RDLCK, SEEK_SET, 7, 2)));
    in_child(child_posix_view);
    /* SEEK_CUR and SEEK_END, negative lengths */
    lseek(fd, 300, SEEK_SET);
    SAY("unlock all: %s\n", err(setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0)));
    SAY("W cur-10 len 5: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_CUR, -10, 5)));
    SAY("W end+0 len -4: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_END, 0, -4)));
    in_child(child_posix_view);
    SAY("unlock all: %s\n", err(setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0)));
    /* errors */
    int ro = reopen(O_RDONLY), wo = reopen(O_WRONLY);
    SAY("W on O_RDONLY: %s\n", err(setlk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    SAY("R on O_WRONLY: %s\n", err(setlk(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1)));
    SAY("UN on O_RDONLY: %s\n", err(setlk(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 1)));
    SAY("bad type: %s\n", err(setlk(fd, F_SETLK, 7, SEEK_SET, 0, 1)));
    SAY("bad whence: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, 5, 0, 1)));
    SAY("negative start: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1)));
    SAY("length before 0: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 2, -3)));
    SAY("overflow: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 2)));
    getlk("getlk unlock type", fd, F_GETLK, F_UNLCK, 0, 1);
    /* closing ANY fd of the file releases the process's locks */
    SAY("W 0..10 again: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10)));
    close(ro);
    in_child(child_posix_view);
    close(wo);
    close(fd);
}

/* -- release at exit, OFD locks ------------------------------------------ */

static void child_locks_and_exits(void)
{
    int fd = reopen(O_RDWR);
    SAY("child W 0..1: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    _exit(0);   /* without closing */
}

static void child_ofd_view(void)
{
    int fd = reopen(O_RDWR);
    getlk("ofd seen by POSIX getlk", fd, F_GETLK, F_WRLCK, 0, 1);
    getlk("ofd seen by OFD getlk", fd, F_OFD_GETLK, F_WRLCK, 0, 1);
    SAY("child POSIX over ofd: %s\n", err(setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    SAY("child OFD over ofd: %s\n", err(setlk(fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
}

static void test_exit_and_ofd(void)
{
    int fd = reopen(O_RDWR);
    in_child(child_locks_and_exits);
    getlk("after the child's exit", fd, F_GETLK, F_WRLCK, 0, 1);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 1 };
    SAY("OFD with l_pid: %s\n", err(fcntl(fd, F_OFD_SETLK, &fl)));
    SAY("OFD W 0..10: %s\n", err(setlk(fd, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10)));
    int fd2 = reopen(O_RDWR);
    SAY("own POSIX over own OFD: %s\n", err(setlk(fd2, F_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    SAY("other description's OFD: %s\n", err(setlk(fd2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1)));
    close(fd2);                 /* not the OFD lock's description: it stays */
    in_child(child_ofd_view);
    close(fd);                  /* its last fd: the OFD lock goes */
    fd = reopen(O_RDWR);
    getlk("after close", fd, F_OFD_GETLK, F_WRLCK, 0, 1);
    close(fd);
}

/* -- waits: woken by a release, EDEADLK, interrupted --------------------- */

static void on_alarm(int sig) { (void)sig; }

static void test_waits(void)
{
    int fd = reopen(O_RDWR);
    int ready[2], go[2];
    pipe(ready);
    pipe(go);
    setlk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1);        /* A */
    flock(fd, LOCK_EX);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd);
        int cfd = reopen(O_RDWR);
        struct sigaction sa = { .sa_handler = on_alarm };   /* no SA_RESTART */
        sigaction(SIGALRM, &sa, NULL);
        alarm(1);
        SAY("child blocking flock, alarm: %s\n", err(flock(cfd, LOCK_EX)));
        alarm(1);
        SAY("child blocking F_SETLKW, alarm: %s\n",
            err(setlk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1)));
        alarm(1);
        SAY("child blocking F_OFD_SETLKW, alarm: %s\n",
            err(setlk(cfd, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 1)));
        SAY("child W 1..2: %s\n", err(setlk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1)));  /* B */
        write(ready[1], "r", 1);
        SAY("child F_SETLKW on A: %s\n", err(setlk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1)));
        write(ready[1], "r", 1);
        SAY("child flock EX (waits): %s\n", err(flock(cfd, LOCK_EX)));
        getlk("child sees", cfd, F_GETLK, F_WRLCK, 0, 2);
        write(ready[1], "r", 1);
        char c;
        read(go[0], &c, 1);
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    usleep(300000);                                     /* the child waits for A by now */
    SAY("parent F_SETLKW on B: %s\n", err(setlk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1)));
    const char *done = err(setlk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1));
    read(ready[0], &c, 1);                              /* the child got A and said so */
    SAY("parent unlocked A: %s\n", done);
    done = err(flock(fd, LOCK_UN));
    read(ready[0], &c, 1);
    SAY("parent flock UN: %s\n", done);
    getlk("parent sees", fd, F_GETLK, F_WRLCK, 0, 2);
    write(go[1], "g", 1);
    waitpid(pid, NULL, 0);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: locks FILE\n");
        return 2;
    }
    path = argv[1];
    parent = getpid();
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "0123456789abcdefghij", 20) != 20) {
        perror(path);
        return 1;
    }
    close(fd);
    test_flock();
    test_posix();
    test_exit_and_ofd();
    test_waits();
    return 0;
}
