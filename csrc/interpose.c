/*
 * interpose.c — the interception loop and the fast path of runsc-py.
 *
 * Owns: the event loop over the seccomp listener and the ptrace wait
 * channel (a signalfd for SIGCHLD), the fast-path identity table, and thin
 * wrappers for the kernel interfaces Python's standard library lacks
 * (seccomp notify ioctls, ptrace, pidfd_getfd, openat2, process_vm_*).
 * Everything about what a syscall *means* lives in Python; this file only
 * catches calls, answers the trivial identity ones, and applies replies.
 *
 * Compiled by cffi (runsc_py/_build_interpose.py) as one translation unit
 * together with the generated extern "Python" trampolines. The sentry
 * serves everything on one thread; the only other thread, waiting.c's
 * watcher, polls fds and serves nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interpose.h"

/* Debian 12's kernel headers predate these (Linux 6.6). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Defined by cffi after this file (extern "Python"). */
static int rp_py_trap(struct rp_trap *, struct rp_reply *);
static int rp_py_wait(int32_t pid, int32_t status);
static int rp_py_event(int fd, uint32_t events);

/* ------------------------------------------------------------------ */
/* Fast-path identity table: host tid -> virtual ids.                  */
/* Open addressing with linear probing; tid 0 = empty, -1 = deleted.   */

#define RP_IDS_SLOTS 16384
static struct rp_ids ids_table[RP_IDS_SLOTS];
static int fast_path_on = 1;
static uint64_t fast_count[512];

static unsigned ids_hash(int32_t tid) { return ((uint32_t)tid * 2654435761u) % RP_IDS_SLOTS; }

static struct rp_ids *ids_find(int32_t tid)
{
    unsigned h = ids_hash(tid);
    for (unsigned i = 0; i < RP_IDS_SLOTS; i++) {
        struct rp_ids *e = &ids_table[(h + i) % RP_IDS_SLOTS];
        if (e->tid == tid)
            return e;
        if (e->tid == 0)
            return NULL;
    }
    return NULL;
}

int rp_ids_set(const struct rp_ids *ids)
{
    struct rp_ids *e = ids_find(ids->tid);
    if (e) {
        *e = *ids;
        return 0;
    }
    unsigned h = ids_hash(ids->tid);
    for (unsigned i = 0; i < RP_IDS_SLOTS; i++) {
        e = &ids_table[(h + i) % RP_IDS_SLOTS];
        if (e->tid == 0 || e->tid == -1) {
            *e = *ids;
            return 0;
        }
    }
    return -ENOSPC;
}

void rp_ids_clear(int32_t tid)
{
    struct rp_ids *e = ids_find(tid);
    if (e)
        e->tid = -1;
}

int rp_ids_get(int32_t tid, struct rp_ids *out)
{
    struct rp_ids *e = ids_find(tid);
    if (!e)
        return -ESRCH;
    *out = *e;
    return 0;
}

void rp_fast_path_enable(int on) { fast_path_on = on; }

uint64_t rp_fast_path_count(int nr) { return (nr >= 0 && nr < 512) ? fast_count[nr] : 0; }

#include "answer_cache.c"
#include "waiting.c"

/* What the fast path did with a call. */
enum fast { FAST_NONE, FAST_VALUE, FAST_ANSWERED, FAST_CONTINUE };

/* Answer a trapped call without Python: the identity calls from the table,
 * stat and open of cached paths, close of an fd opened here (the last two
 * only through a seccomp listener, -1 on a ptrace stop). FAST_VALUE sets
 * *val (a return value, or -errno); FAST_NONE means Python must decide. */
static enum fast fast_path(int32_t tid, int nr, const uint64_t *args, int listener,
                           uint64_t notif_id, int64_t *val)
{
    if (!fast_path_on || nr < 0 || nr >= 512)
        return FAST_NONE;
    struct rp_ids *e = ids_find(tid);
    if (!e)
        return FAST_NONE;
    enum fast done = FAST_VALUE;
    switch (nr) {
    case SYS_getpid: *val = e->vpid; break;
    case SYS_getppid: *val = e->vppid; break;
    case SYS_gettid: *val = e->vtid; break;
    case SYS_getuid: *val = e->uid; break;
    case SYS_geteuid: *val = e->euid; break;
    case SYS_getgid: *val = e->gid; break;
    case SYS_getegid: *val = e->egid; break;
    case SYS_open: case SYS_openat: /* counted there: only a success is an answer */
        return listener >= 0 && open_fast_path(e, listener, notif_id, nr, args) ? FAST_ANSWERED
                                                                                : FAST_NONE;
    case SYS_close:
        if (listener < 0 || !close_fast_path(e, nr, args))
            return FAST_NONE;
        done = FAST_CONTINUE;
        break;
    default:
        if (!stat_fast_path(e, nr, args, val))
            return FAST_NONE;
    }
    fast_count[nr]++;
    return done;
}

/* ------------------------------------------------------------------ */
/* the CPU the sentry runs on                                          */

/* A walk is a chain of round trips workload -> sentry -> gofer -> sentry
 * -> workload, each party sleeping while another runs. With
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP the kernel wakes the sentry and the
 * workload on each other's CPU, but the gofer is woken through a socket,
 * and the scheduler puts a woken task back on its previous CPU when that
 * one is idle: so the gofer settles on another CPU and every request is
 * two cross-CPU wake-ups (an IPI each, and on a VM an exit from the idle
 * vCPU). Each request therefore names the CPU the sentry is on, and the
 * gofer moves there (runsc_py/gofer/server.py): measured on a 2-vCPU VM,
 * find over 11 400 directories 8.2-9.0 s -> 6.5-6.7 s, grep -r over
 * /usr/include 3.9-4.7 s -> 2.8 s. */
int rp_current_cpu(void) { return sched_getcpu(); }

/* The kernel's cpumask_size(): what sched_getaffinity returns for a long
 * buffer (NR_CPUS' bytes on most configurations, not the possible CPUs'). */
int rp_cpumask_size(void)
{
    unsigned long mask[128];
    long rc = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    return rc < 0 ? -errno : (int)rc;
}

/* ------------------------------------------------------------------ */
/* seccomp                                                             */

int rp_filter_build(const struct rp_rule *rules, int n, uint32_t default_action, int out_fd)
{
    scmp_filter_ctx ctx = seccomp_init(default_action);
    if (!ctx)
        return -EINVAL;
    /* A binary search over syscall numbers instead of a linear chain of
     * ~200 comparisons: every native syscall of the workload pays this. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (int i = 0; i < n && rc == 0; i++)
        rc = seccomp_rule_add(ctx, rules[i].action, rules[i].nr, 0);
    if (rc == 0)
        rc = seccomp_export_bpf(ctx, out_fd);
    seccomp_release(ctx);
    return rc;
}

/* Build a filter with argument conditions (an OCI seccomp profile). On a
 * rule libseccomp refuses, *failed is its index. */
int rp_filter_build_cond(const struct rp_cond_rule *rules, int n, uint32_t default_action,
                         int out_fd, int32_t *failed)
{
    scmp_filter_ctx ctx = seccomp_init(default_action);
    if (!ctx)
        return -EINVAL;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        struct scmp_arg_cmp cmp[6];
        uint32_t nc = rules[i].ncond > 6 ? 6 : rules[i].ncond;
        for (uint32_t j = 0; j < nc; j++)
            cmp[j] = (struct scmp_arg_cmp){.arg = rules[i].conds[j].arg,
                                           .op = (enum scmp_compare)rules[i].conds[j].op,
                                           .datum_a = rules[i].conds[j].a,
                                           .datum_b = rules[i].conds[j].b};
        rc = seccomp_rule_add_array(ctx, rules[i].action, rules[i].nr, nc, cmp);
        if (rc < 0)
            *failed = i;
    }
    if (rc == 0)
        rc = seccomp_export_bpf(ctx, out_fd);
    seccomp_release(ctx);
    return rc;
}

int rp_syscall_nr(const char *name)
{
    return seccomp_syscall_resolve_name(name);
}

int rp_libseccomp_version(void)
{
    const struct scmp_version *v = seccomp_version();
    return v ? (int)(v->major * 10000 + v->minor * 100 + v->micro) : 0;
}

/* Confine the calling process itself with a filter from rp_filter_build
 * (the gofer and the sentry do, after set-up). `flags` are
 * SECCOMP_FILTER_FLAG_*: SECCOMP_FILTER_FLAG_TSYNC puts every thread of the
 * process under it (a positive return is the id of a thread that could not
 * be synchronised; nothing was loaded then). */
int rp_filter_load_self(const void *bpf, int32_t len, uint32_t flags)
{
    struct sock_fprog prog = {.len = (unsigned short)len, .filter = (struct sock_filter *)bpf};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    return rc < 0 ? -errno : (int)rc;
}

int rp_notify_send(int fd, uint64_t id, int64_t val, int32_t err, uint32_t flags)
{
    struct seccomp_notif_resp resp = {.id = id, .val = val, .error = err, .flags = flags};
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 ? -errno : 0;
}

int rp_notify_addfd(int fd, uint64_t id, int srcfd, int newfd, uint32_t newfd_flags, uint32_t flags)
{
    struct seccomp_notif_addfd add = {
        .id = id, .flags = flags, .srcfd = (uint32_t)srcfd,
        .newfd = (uint32_t)newfd, .newfd_flags = newfd_flags};
    /* A wake signal must not interrupt an ADDFD that also answers the call
     * (SEND): the kernel marks the call answered before it waits, and an
     * interrupted wait withdraws the fd, so the caller would return 0 with
     * no fd installed. */
    sigset_t old;
    int held = (flags & SECCOMP_ADDFD_FLAG_SEND) && hold_wakes(&old);
    int rc = ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    int err = errno;
    if (held)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc < 0 ? -err : rc;
}

int rp_notify_id_valid(int fd, uint64_t id)
{
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? -errno : 0;
}

int rp_notify_set_sync_wakeup(int fd)
{
    uint64_t flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) < 0 ? -errno : 0;
}

/* ------------------------------------------------------------------ */
/* ptrace                                                              */

long rp_ptrace(int request, int32_t pid, uint64_t addr, uint64_t data)
{
    errno = 0;
    long rc = ptrace(request, pid, (void *)addr, (void *)data);
    return (rc == -1 && errno) ? -errno : rc;
}

int rp_get_regs(int32_t pid, struct rp_regs *regs)
{
    return ptrace(PTRACE_GETREGS, pid, 0, regs) < 0 ? -errno : 0;
}

int rp_set_regs(int32_t pid, const struct rp_regs *regs)
{
    return ptrace(PTRACE_SETREGS, pid, 0, regs) < 0 ? -errno : 0;
}

/* Finish a call caught at a seccomp ptrace stop. VALUE/ERRNO skip the
 * syscall (orig_rax = -1) and put the result in rax; CONTINUE lets it run. */
int rp_reply_ptrace(int32_t pid, int kind, int64_t value)
{
    if (kind == RP_REPLY_VALUE || kind == RP_REPLY_ERRNO) {
        struct user_regs_struct regs;
        if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
            return -errno;
        regs.orig_rax = (unsigned long long)-1;
        regs.rax = kind == RP_REPLY_VALUE ? (unsigned long long)value : (unsigned long long)-value;
        if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
            return -errno;
    }
    return ptrace(PTRACE_CONT, pid, 0, 0) < 0 ? -errno : 0;
}

/* ------------------------------------------------------------------ */
/* the loop                                                            */

static int loop_notify_fd = -1;

void rp_loop_set_notify_fd(int notify_fd) { loop_notify_fd = notify_fd; }

/* Answer one received notification: the fast path, else Python. */
static int serve_request(int fd, const struct seccomp_notif *r)
{
    const struct seccomp_notif req = *r;
    int64_t val;
    switch (fast_path((int32_t)req.pid, req.data.nr, (const uint64_t *)req.data.args, fd, req.id,
                      &val)) {
    case FAST_VALUE:
        if (val < 0)
            rp_notify_send(fd, req.id, 0, (int32_t)val, 0);
        else
            rp_notify_send(fd, req.id, val, 0, 0);
        return 0;
    case FAST_CONTINUE:
        rp_notify_send(fd, req.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
        return 0;
    case FAST_ANSWERED:
        return 0;
    case FAST_NONE:
        break;
    }
    struct rp_trap trap = {.id = req.id, .tid = (int32_t)req.pid, .nr = req.data.nr,
                           .ip = req.data.instruction_pointer, .via = RP_VIA_NOTIFY};
    memcpy(trap.args, req.data.args, sizeof trap.args);
    struct rp_reply reply = {.kind = RP_REPLY_HELD};
    int stop = rp_py_trap(&trap, &reply);
    rp_stat_cache_after_call(trap.nr, trap.args);
    switch (reply.kind) {
    case RP_REPLY_VALUE:
        rp_notify_send(fd, req.id, reply.value, 0, 0);
        break;
    case RP_REPLY_ERRNO:
        rp_notify_send(fd, req.id, 0, (int32_t)-reply.value, 0);
        break;
    case RP_REPLY_CONTINUE:
        rp_notify_send(fd, req.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
        break;
    }
    return stop;
}

static int serve_notification(int fd)
{
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return 0; /* ENOENT: the caller died or was interrupted; EINTR */
    return serve_request(fd, &req);
}

static int serve_seccomp_stop(int32_t pid)
{
    struct user_regs_struct regs;
    unsigned long msg = 0;
    if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
        return 0; /* killed meanwhile; its exit comes through waitpid */
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    int64_t val;
    uint64_t args[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
    if (msg == RP_TRACE_SYSCALL && fast_path(pid, (int)regs.orig_rax, args, -1, 0, &val) == FAST_VALUE) {
        regs.orig_rax = (unsigned long long)-1;
        regs.rax = (unsigned long long)val;
        ptrace(PTRACE_SETREGS, pid, 0, &regs);
        ptrace(PTRACE_CONT, pid, 0, 0);
        return 0;
    }
    struct rp_trap trap = {.id = 0, .tid = pid, .nr = (int32_t)regs.orig_rax,
                           .ip = regs.rip, .via = RP_VIA_PTRACE, .data = (uint32_t)msg};
    memcpy(trap.args, args, sizeof trap.args);
    struct rp_reply reply = {.kind = RP_REPLY_HELD};
    int stop = rp_py_trap(&trap, &reply);
    rp_stat_cache_after_call(trap.nr, trap.args);
    if (reply.kind != RP_REPLY_HELD)
        rp_reply_ptrace(pid, reply.kind, reply.value);
    return stop;
}

/* Serve every child that stopped or exited (ptrace stops, lifecycle events). */
static int serve_children(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
        if (pid <= 0)
            return 0;
        int stop;
        if (WIFSTOPPED(status) && (status >> 8) == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)))
            stop = serve_seccomp_stop(pid);
        else /* lifecycle events (fork, exec, exit) change no path: the cache stays */
            stop = rp_py_wait(pid, status);
        if (stop)
            return stop;
    }
}

static int serve_sigchld(int sigfd)
{
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) == sizeof si)
        ;
    return serve_children();
}


/* One turn of the loop through poll(): every fd at once, waiting up to
 * `timeout_ms`. The listener is left out when it is -1, the signalfd when
 * SIGCHLD wakes the loop instead (direct receive). */
static int poll_turn(int listener, int sigchld_fd, int timeout_ms)
{
    struct pollfd fds[RP_MAX_WATCH + 2];
    fds[0] = (struct pollfd){.fd = listener, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = direct_on ? -1 : sigchld_fd, .events = POLLIN};
    int n = copy_watched(fds, 2);
    long rc = rp_cancellable_syscall(SYS_poll, (long)fds, n, timeout_ms, &wake_pending);
    if (rc < 0)
        return rc == -EINTR ? 0 : (int)rc;
    int stop = 0;
    if (fds[0].revents & POLLIN)
        stop = serve_notification(listener);
    if (!stop && fds[1].revents)
        stop = serve_sigchld(sigchld_fd);
    for (int i = 2; i < n && !stop; i++)
        if (fds[i].revents) {
            stop = rp_py_event(fds[i].fd, (uint32_t)fds[i].revents);
            rp_stat_cache_flush(); /* a parked call finished, a control request... */
        }
    return stop;
}

/* One turn of direct receive: sleep in RECV until a call or a wake-up. */
static int receive_turn(int listener, int sigchld_fd)
{
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    long rc = rp_cancellable_syscall(SYS_ioctl, listener, (long)SECCOMP_IOCTL_NOTIF_RECV,
                                     (long)&req, &wake_pending);
    if (rc == 0)
        return serve_request(listener, &req);
    if (rc == -EINTR)
        return 0;
    /* ENOENT: a caller died before we took its call, or no process is left
     * under the filter (then RECV fails at once, and poll() sees POLLHUP
     * until the last exit is served): one turn through poll. */
    return poll_turn(listener, sigchld_fd, -1);
}

/* Serve what the wake-ups say came: children first, then the watched fds. */
static int serve_wakes(int wakes, int sigchld_fd)
{
    int stop = 0;
    if (wakes & WAKE_CHILD)
        stop = serve_children();
    if (wakes & WAKE_WATCHED) {
        if (!stop)
            stop = poll_turn(-1, sigchld_fd, 0);
        release_watcher();
    }
    return stop;
}

/* Run the sentry's event loop until a Python callback returns nonzero.
 *
 * poll(), not epoll: a seccomp notification with SYNC_WAKE_UP wakes its
 * waiter on the current CPU, and poll's wake function passes that flag on
 * where epoll's callback drops it (measured: bench/README.md). With
 * `direct_receive` (the seccomp platform) the loop sleeps in RECV instead,
 * woken by signals for everything else (waiting.c). */
int rp_loop_run(int notify_fd, int sigchld_fd, int direct_receive)
{
    loop_notify_fd = notify_fd;
    if (direct_receive)
        (void)direct_start(); /* if it cannot start, poll() serves */
    /* Children may have stopped or exited before the loop began. */
    __atomic_or_fetch(&wake_pending, WAKE_CHILD, __ATOMIC_SEQ_CST);
    int stop = 0;
    while (!stop) {
        int wakes = take_wakes();
        if (wakes)
            stop = serve_wakes(wakes, sigchld_fd);
        else if (direct_receive_allowed())
            stop = receive_turn(loop_notify_fd, sigchld_fd);
        else
            stop = poll_turn(loop_notify_fd, sigchld_fd, -1);
    }
    direct_stop();
    return stop;
}

/* ------------------------------------------------------------------ */
/* starting the workload                                               */

static void child_fail(int sync_fd, int err)
{
    int32_t msg = -err;
    (void)!write(sync_fd, &msg, sizeof msg);
    _exit(127);
}

/* mount_setattr(2), by number: Debian 12's headers lack its wrapper. */
#define RP_NR_MOUNT_SETATTR 442
#define RP_AT_RECURSIVE 0x8000
#define RP_MOUNT_ATTR_RDONLY 0x1
#define RP_MOUNT_ATTR_NOSUID 0x2
#define RP_MOUNT_ATTR_NODEV 0x4
struct rp_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* Every mount at and beneath `path` read-only, nosuid, nodev. */
static int seal_tree(const char *path)
{
    struct rp_mount_attr attr = {
        .attr_set = RP_MOUNT_ATTR_RDONLY | RP_MOUNT_ATTR_NOSUID | RP_MOUNT_ATTR_NODEV};
    return syscall(RP_NR_MOUNT_SETATTR, AT_FDCWD, path, RP_AT_RECURSIVE, &attr, sizeof attr) < 0
               ? -errno : 0;
}

/* Make a read-only view of `root` the host root of this (new) mount
 * namespace, and its cwd. The sentry answers every path the workload
 * names; the host kernel itself only opens a dynamic binary's PT_INTERP by
 * path, and that must be found in the sandbox's root, never written
 * through. "/" (`runsc-py do`) is the host's own tree, sealed in place in
 * this namespace's copy, without the host's /proc, /sys and /dev, which
 * the sandbox sees as the sentry's; any other root (a container's rootfs)
 * is bound and pivoted to. */
static int enter_root(const char *root)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    if (strcmp(root, "/") == 0) {
        static const char *const host_views[] = {"/proc", "/sys", "/dev"};
        for (size_t i = 0; i < sizeof host_views / sizeof *host_views; i++)
            if (umount2(host_views[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return -errno;
        int rc = seal_tree("/");
        return rc < 0 ? rc : (chdir("/") < 0 ? -errno : 0);
    }
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
        return -errno;
    int rc = seal_tree(root);
    if (rc < 0)
        return rc;
    if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
        return -errno;
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        return -errno;
    return 0;
}

/* Become an unprivileged host user: no capability in any set (the
 * bounding set and ambient set emptied while CAP_SETPCAP is still ours),
 * no supplementary groups, real = effective = saved = fs ids. The
 * sandbox's identities are the sentry's; the host's only decide what a
 * call that slipped through could reach, which must be nothing. */
static int drop_privileges(uint32_t uid, uint32_t gid)
{
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return -errno;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct none[2] = {{0}};
    if (syscall(SYS_capset, &header, none) < 0)
        return -errno;
    return 0;
}

/* Runs in the freshly cloned child: wait until the sentry has seized us,
 * shed inherited fds, load the filter, tell the sentry the listener's
 * number, and exec (which the filter hands to the sentry to rewrite). */
static void child_main(const struct rp_spawn *s)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The sentry blocks SIGCHLD and Python ignores SIGPIPE; ignored signals
     * and the mask survive exec, so start the workload from a clean slate. */
    for (int sig = 1; sig < _NSIG; sig++)
        signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (s->join_pidfd >= 0 &&
        setns(s->join_pidfd, CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
        child_fail(s->sync_fd, errno);
    /* The stdio fds are the sentry's (>= 3, since its own 0-2 are open). */
    if (s->stdio)
        for (int i = 0; i < 3; i++)
            if (dup2(s->stdio[i], i) < 0)
                child_fail(s->sync_fd, errno);
    /* A session and process group of its own, always: kill(0) and killpg
     * from the workload then reach only the sandbox's processes. */
    if (setsid() < 0 || (s->ctty && ioctl(0, TIOCSCTTY, 0) < 0))
        child_fail(s->sync_fd, errno);
    for (int i = 0; i < s->n_rlimits; i++) {
        struct rlimit limit = {s->rlimits[3 * i + 1], s->rlimits[3 * i + 2]};
        if (setrlimit((int)s->rlimits[3 * i], &limit) < 0)
            child_fail(s->sync_fd, errno);
    }
    /* The host writes no core for a workload process, whatever it asks
     * (its own limit is the sentry's, and every call that sets it traps):
     * a limit of 1 byte is below any core's size, and the kernel's own
     * "never" for a core_pattern that pipes to a helper, which a limit of
     * 0 would not stop. */
    struct rlimit no_core = {1, 1};
    if (setrlimit(RLIMIT_CORE, &no_core) < 0)
        child_fail(s->sync_fd, errno);
    if (s->sync_fd == 3 ? fcntl(3, F_SETFD, FD_CLOEXEC) < 0 : dup3(s->sync_fd, 3, O_CLOEXEC) < 0)
        _exit(127);
    int sync = 3;
    syscall(SYS_close_range, 4, ~0U, 0);
    char go;
    if (read(sync, &go, 1) != 1) /* the sentry died before seizing us */
        _exit(127);
    if (s->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(s->cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    if (s->root) {
        int rc = enter_root(s->root);
        if (rc < 0)
            child_fail(sync, -rc);
    }
    int dropped = drop_privileges(s->host_uid, s->host_gid);
    if (dropped < 0)
        child_fail(sync, -dropped);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(sync, errno);
    /* The listener's number goes to the sentry before any filter exists:
     * under ours any write may trap (--inject can trap every one), with no
     * one yet to answer, and an OCI profile may refuse what this needs.
     * seccomp() gives the lowest free fd, and nothing opens one in between;
     * the sentry takes it once it appears (the execve below waits for the
     * sentry, and the fd is O_CLOEXEC). A failure after this still sends
     * -errno (child_fail), which the sentry reads once it sees the exit. */
    int32_t msg = 0;
    while (msg < 4 && fcntl(msg, F_GETFD) >= 0)
        msg++;
    if (write(sync, &msg, sizeof msg) != sizeof msg)
        _exit(127);
    if (s->profile_bpf) {
        struct sock_fprog profile = {.len = (unsigned short)s->profile_bpf_len,
                                     .filter = (struct sock_filter *)s->profile_bpf};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &profile) < 0)
            child_fail(sync, errno);
    }
    struct sock_fprog prog = {.len = (unsigned short)s->bpf_len, .filter = (struct sock_filter *)s->bpf};
    int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->filter_flags, &prog);
    if (listener < 0) /* not loaded: the write runs */
        child_fail(sync, errno);
    if (listener != msg)
        _exit(127);
    execve(s->path, s->argv, s->envp);
    _exit(127);
}

int32_t rp_spawn_workload(const struct rp_spawn *s)
{
    long pid = syscall(SYS_clone, SIGCHLD | s->clone_flags, 0, 0, 0, 0);
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child_main(s);
    return (int32_t)pid;
}

/* Serve one notification from a listener other than the loop's (an exec'd
 * process's); the Python side answers through the same fd. */
int rp_serve_notification(int fd)
{
    return serve_notification(fd);
}

int rp_setns(int fd, int nstype)
{
    return setns(fd, nstype) < 0 ? -errno : 0;
}

/* A non-blocking signalfd for SIGCHLD (the caller blocks SIGCHLD): how ptrace
 * stops and exits wake the loop. */
int rp_signalfd_sigchld(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int rp_pidfd_open(int32_t pid)
{
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

int rp_pidfd_getfd(int pidfd, int fd)
{
    long rc = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    return rc < 0 ? -errno : (int)rc;
}

int rp_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}

/* ------------------------------------------------------------------ */
/* guest memory                                                        */

int64_t rp_mem_read(int32_t pid, uint64_t addr, void *buf, uint64_t len)
{
    struct iovec local = {buf, len}, remote = {(void *)addr, len};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return n < 0 ? -errno : n;
}

int64_t rp_mem_write(int32_t pid, uint64_t addr, const void *buf, uint64_t len)
{
    struct iovec local = {(void *)buf, len}, remote = {(void *)addr, len};
    ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    return n < 0 ? -errno : n;
}

/* Read a NUL-terminated string of at most max bytes (NUL included), a page
 * at a time so a string ending just before an unmapped page still reads.
 * Returns its length, -EFAULT, or -ENAMETOOLONG. */
int64_t rp_mem_read_cstr(int32_t pid, uint64_t addr, char *buf, uint64_t max)
{
    uint64_t got = 0;
    while (got < max) {
        uint64_t page_left = 4096 - ((addr + got) & 4095);
        uint64_t want = page_left < max - got ? page_left : max - got;
        int64_t n = rp_mem_read(pid, addr + got, buf + got, want);
        if (n <= 0)
            return -EFAULT;
        char *nul = memchr(buf + got, 0, (size_t)n);
        if (nul)
            return nul - buf;
        got += (uint64_t)n;
    }
    return -ENAMETOOLONG;
}
