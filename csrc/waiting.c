/*
 * waiting.c — how the loop waits for its next event.
 *
 * Included by interpose.c (one translation unit).
 *
 * The loop has one busy source, the seccomp listener (every trapped call),
 * and quieter ones: SIGCHLD (ptrace stops, exits), the gofer, control
 * sockets, parked calls. Waiting for all of them in poll() costs a poll per
 * call on top of the listener's RECV ioctl (~0.9 µs of a ~6.8 µs round
 * trip here). So on the seccomp platform the loop sleeps in
 * SECCOMP_IOCTL_NOTIF_RECV itself ("direct receive"), and is woken out of
 * it by a signal:
 *
 *   - SIGCHLD itself, caught by a handler in the loop thread (the only
 *     thread that leaves it unblocked), rather than read from a signalfd;
 *   - RP_WAKE_SIGNAL, sent by a watcher thread that polls the other fds.
 *     The watcher then waits until the loop has served them before it
 *     polls again, since they stay readable until then.
 *
 * Each sets a bit in `wake_pending` first. No wake-up may be lost between
 * the loop's last look at `wake_pending` and the moment it sleeps. So the
 * loop sleeps through a stub (rp_cancellable_syscall) that tests the flag
 * and makes the syscall between two labels, as musl does for thread
 * cancellation: the handler, finding the interrupted instruction pointer
 * between them, moves it to a path that returns -EINTR without the call.
 * A signal that comes once the thread sleeps in the kernel ends RECV with
 * -EINTR (or restarts it at the syscall instruction, between the labels:
 * cancelled again). A RECV that has already taken a notification has
 * passed the second label, so no notification is ever dropped. Handlers
 * are SA_RESTART, so the sentry's other syscalls go on unharmed (and
 * Python retries the rest on EINTR), with one exception: an interrupted
 * NOTIF_ADDFD with SEND leaves the caller answered with 0 and no fd, so
 * rp_notify_addfd holds the wake signals off while it runs.
 *
 * Measured (bench/run.py, seccomp): getppid 6.8 -> 5.9 µs, stat 10.5 ->
 * 9.4 µs; a fork, whose ptrace events now each come as a signal, +4%.
 *
 * The watcher never runs Python and never serves anything: the sentry
 * stays single-threaded in what it does. It only reads the watched set,
 * under `watch_lock`.
 */
#include <pthread.h>
#include <sys/eventfd.h>
#include <ucontext.h>

/* The signal that wakes the loop thread. glibc keeps SIGRTMIN..+2 for
 * itself; CPython uses no real-time signal. */
#define RP_WAKE_SIGNAL (SIGRTMAX - 3)

/* The fds the loop watches besides the listener and the signalfd. */
#define RP_MAX_WATCH 64
static struct pollfd watched[RP_MAX_WATCH];
static int n_watched = 0;
static int n_watched_listeners = 0; /* exec'd processes' listeners among them */
static uint8_t watched_is_listener[RP_MAX_WATCH];
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;

#define WAKE_WATCHED 1 /* the watcher found a watched fd ready */
#define WAKE_CHILD 2   /* SIGCHLD came: a child stopped or exited */
static volatile int wake_pending = 0;
static int direct_on = 0; /* SIGCHLD and the watcher wake the loop */
static int watcher_stopping = 0;
static int watcher_failed = 0; /* then the loop stays in poll() */
static pthread_t watcher_thread;
static pid_t loop_tid;
static int set_changed_fd = -1; /* loop -> watcher: the watched set changed, or stop */
static int ack_fd = -1;         /* loop -> watcher: served, poll again */
static struct sigaction old_sigchld_action;
static sigset_t old_loop_mask;

/* ------------------------------------------------------------------ */
/* the watched set                                                     */

static void tell_watcher(int fd)
{
    uint64_t one = 1;
    if (fd >= 0)
        (void)!write(fd, &one, sizeof one);
}

int rp_loop_watch(int fd, int is_listener)
{
    pthread_mutex_lock(&watch_lock);
    int rc = 0;
    for (int i = 0; i < n_watched; i++)
        if (watched[i].fd == fd)
            goto out;
    if (n_watched >= RP_MAX_WATCH) {
        rc = -ENOSPC;
        goto out;
    }
    watched_is_listener[n_watched] = is_listener != 0;
    n_watched_listeners += is_listener != 0;
    watched[n_watched++] = (struct pollfd){.fd = fd, .events = POLLIN};
out:
    pthread_mutex_unlock(&watch_lock);
    if (rc == 0 && direct_on)
        tell_watcher(set_changed_fd);
    return rc;
}

void rp_loop_unwatch(int fd)
{
    pthread_mutex_lock(&watch_lock);
    for (int i = 0; i < n_watched; i++)
        if (watched[i].fd == fd) {
            n_watched_listeners -= watched_is_listener[i];
            n_watched--;
            watched[i] = watched[n_watched];
            watched_is_listener[i] = watched_is_listener[n_watched];
            break;
        }
    pthread_mutex_unlock(&watch_lock);
    if (direct_on)
        tell_watcher(set_changed_fd);
}

/* Copy the watched set after `first` entries of `fds`; returns the count. */
static int copy_watched(struct pollfd *fds, int first)
{
    pthread_mutex_lock(&watch_lock);
    memcpy(&fds[first], watched, sizeof(struct pollfd) * (size_t)n_watched);
    int n = first + n_watched;
    pthread_mutex_unlock(&watch_lock);
    return n;
}

/* Whether the loop may sleep in RECV: an exec'd process's listener is
 * served through poll like the main one, never through the watcher. */
static int direct_receive_allowed(void)
{
    return direct_on && n_watched_listeners == 0 &&
           !__atomic_load_n(&watcher_failed, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------------ */
/* the cancellable sleep                                               */

/* long rp_cancellable_syscall(long nr, long a, long b, long c,
 *                            volatile int *cancel)
 * syscall(nr, a, b, c), or -EINTR without making it when *cancel is
 * nonzero or a wake signal lands before the syscall instruction has run. */
extern long rp_cancellable_syscall(long nr, long a, long b, long c, volatile int *cancel);
extern const char rp_cancel_begin[], rp_cancel_end[], rp_cancel_taken[];
__asm__(".text\n"
        ".p2align 4\n"
        ".type rp_cancellable_syscall,@function\n"
        "rp_cancellable_syscall:\n"
        "    movq %rdi, %rax\n"
        "    movq %rsi, %rdi\n"
        "    movq %rdx, %rsi\n"
        "    movq %rcx, %rdx\n"
        "rp_cancel_begin:\n"
        "    cmpl $0, (%r8)\n"
        "    jne rp_cancel_taken\n"
        "    syscall\n"
        "rp_cancel_end:\n"
        "    ret\n"
        "rp_cancel_taken:\n"
        "    movq $-4, %rax\n" /* -EINTR */
        "    ret\n"
        ".size rp_cancellable_syscall, .-rp_cancellable_syscall\n");

static void on_wake_signal(int sig, siginfo_t *info, void *context)
{
    (void)info;
    if (sig == SIGCHLD)
        __atomic_or_fetch(&wake_pending, WAKE_CHILD, __ATOMIC_SEQ_CST);
    ucontext_t *uc = context;
    uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (ip >= (uintptr_t)rp_cancel_begin && ip < (uintptr_t)rp_cancel_end)
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)rp_cancel_taken;
}

/* Block the wake signals in the loop thread, for a call they must not
 * interrupt (rp_notify_addfd); they are taken when `old` is restored.
 * Returns whether anything was blocked. */
static int hold_wakes(sigset_t *old)
{
    if (!direct_on)
        return 0;
    sigset_t wakes;
    sigemptyset(&wakes);
    sigaddset(&wakes, SIGCHLD);
    sigaddset(&wakes, RP_WAKE_SIGNAL);
    return pthread_sigmask(SIG_BLOCK, &wakes, old) == 0;
}

/* ------------------------------------------------------------------ */
/* the watcher thread                                                  */

static void wake_loop(int why)
{
    __atomic_or_fetch(&wake_pending, why, __ATOMIC_SEQ_CST);
    syscall(SYS_tgkill, getpid(), loop_tid, RP_WAKE_SIGNAL);
}

static void *watcher_main(void *unused)
{
    (void)unused;
    struct pollfd fds[RP_MAX_WATCH + 1];
    uint64_t count;
    while (!__atomic_load_n(&watcher_stopping, __ATOMIC_ACQUIRE)) {
        fds[0] = (struct pollfd){.fd = set_changed_fd, .events = POLLIN};
        int n = copy_watched(fds, 1);
        if (poll(fds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            goto failed;
        }
        if (fds[0].revents & POLLIN)
            (void)!read(set_changed_fd, &count, sizeof count);
        int ready = 0;
        for (int i = 1; i < n; i++)
            ready |= fds[i].revents != 0;
        if (!ready || __atomic_load_n(&watcher_stopping, __ATOMIC_ACQUIRE))
            continue;
        wake_loop(WAKE_WATCHED);
        while (read(ack_fd, &count, sizeof count) < 0)
            if (errno != EINTR)
                goto failed;
    }
    return NULL;
failed:
    /* Should never happen; if it does, the loop goes back to poll()
     * rather than leave the watched fds unserved. */
    __atomic_store_n(&watcher_failed, 1, __ATOMIC_SEQ_CST);
    wake_loop(WAKE_WATCHED);
    return NULL;
}

static void close_watcher_fds(void)
{
    if (set_changed_fd >= 0)
        close(set_changed_fd);
    if (ack_fd >= 0)
        close(ack_fd);
    set_changed_fd = ack_fd = -1;
}

/* Make this thread's loop sleep in RECV: SIGCHLD and the watcher's signal
 * wake it. Failing leaves the loop on poll() and the signalfd, which is
 * slower but complete. */
static int direct_start(void)
{
    set_changed_fd = eventfd(0, EFD_CLOEXEC);
    ack_fd = eventfd(0, EFD_CLOEXEC);
    if (set_changed_fd < 0 || ack_fd < 0) {
        int err = errno;
        close_watcher_fds();
        return -err;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_wake_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART; /* other syscalls restart unharmed */
    sigfillset(&sa.sa_mask);
    sigaction(RP_WAKE_SIGNAL, &sa, NULL);
    sigaction(SIGCHLD, &sa, &old_sigchld_action);
    loop_tid = (pid_t)syscall(SYS_gettid);
    watcher_stopping = 0;
    watcher_failed = 0;
    /* The watcher blocks every signal, so SIGCHLD reaches only this thread. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_loop_mask);
    int rc = pthread_create(&watcher_thread, NULL, watcher_main, NULL);
    if (rc != 0) {
        pthread_sigmask(SIG_SETMASK, &old_loop_mask, NULL);
        sigaction(SIGCHLD, &old_sigchld_action, NULL);
        close_watcher_fds();
        return -rc;
    }
    sigset_t mask = old_loop_mask;
    sigdelset(&mask, SIGCHLD);
    sigdelset(&mask, RP_WAKE_SIGNAL);
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    direct_on = 1;
    return 0;
}

/* Back to poll() and the signalfd: SIGCHLD is blocked again before its
 * handler goes, so one that comes meanwhile stays queued for the signalfd. */
static void direct_stop(void)
{
    if (!direct_on)
        return;
    pthread_sigmask(SIG_SETMASK, &old_loop_mask, NULL);
    sigaction(SIGCHLD, &old_sigchld_action, NULL);
    __atomic_store_n(&watcher_stopping, 1, __ATOMIC_RELEASE);
    tell_watcher(set_changed_fd);
    tell_watcher(ack_fd);
    pthread_join(watcher_thread, NULL);
    direct_on = 0;
    close_watcher_fds();
    wake_pending = 0;
}

/* Take the wake-ups that came (WAKE_* bits), clearing them first so that
 * one coming while they are served is seen on the next turn. */
static int take_wakes(void)
{
    if (!__atomic_load_n(&wake_pending, __ATOMIC_ACQUIRE))
        return 0;
    return __atomic_exchange_n(&wake_pending, 0, __ATOMIC_SEQ_CST);
}

/* The loop served what the watcher saw: let it poll again. */
static void release_watcher(void)
{
    tell_watcher(ack_fd);
}
