/*
 * interpose.h — the C half of runsc-py's interception: what cffi exposes.
 *
 * This header is read twice: by the C compiler, and (between the
 * RP_CDEF_BEGIN/RP_CDEF_END markers) by cffi's cdef, so it must stay in the
 * subset of C that cffi parses: no #include, no macros with arguments.
 * Every function here has a Python caller in runsc_py/platform/ and a test
 * in tests/unit/test_native.py that pins its behaviour.
 */
/* RP_CDEF_BEGIN */
/* A private syscall number (no real one is this large): a ptrace stop that
 * must install fds is redirected to it, and the filter sends it to the
 * seccomp listener, where NOTIF_ADDFD can do the install. */
#define RP_NR_INSTALL 1023
/* SECCOMP_RET_DATA values the filter attaches to RET_TRACE actions. */
#define RP_TRACE_SYSCALL 1
#define RP_TRACE_EXEC 2
#define RP_TRACE_SIGNALFD_READ 3 /* a signalfd's own filter (sentry/signalfd.py) */

#define RP_VIA_NOTIFY 1
#define RP_VIA_PTRACE 2

/* What Python asks the loop to do with a trapped call. */
#define RP_REPLY_VALUE 0    /* return value (>= 0) */
#define RP_REPLY_ERRNO 1    /* fail with errno value */
#define RP_REPLY_CONTINUE 2 /* let the host run the call natively */
#define RP_REPLY_HELD 3     /* Python replied itself, or will later (parked) */

/* libseccomp action values, passed through from Python's policy table. */
#define RP_ACT_ALLOW 0x7fff0000
#define RP_ACT_NOTIFY 0x7fc00000
#define RP_ACT_TRACE 0x7ff00000
#define RP_ACT_ERRNO 0x00050000
#define RP_ACT_KILL_PROCESS 0x80000000

struct rp_trap {
    uint64_t id;      /* seccomp notification id (0 for a ptrace stop) */
    int32_t tid;      /* host thread id of the caller */
    int32_t nr;       /* syscall number */
    uint64_t args[6];
    uint64_t ip;
    uint32_t via;     /* RP_VIA_NOTIFY or RP_VIA_PTRACE */
    uint32_t data;    /* SECCOMP_RET_DATA of a RET_TRACE stop */
};

struct rp_reply {
    int32_t kind;     /* RP_REPLY_* */
    int64_t value;    /* the return value, or the errno for RP_REPLY_ERRNO */
};

/* Identity of a task as the C fast path answers it (all virtual ids). */
struct rp_ids {
    int32_t tid;      /* host tid: the key */
    int32_t vpid, vtid, vppid;
    uint32_t uid, euid, gid, egid;
    uint32_t view;    /* the task's view for cached answers (root and search
                         credentials, see answer_cache.c); 0: none */
    uint32_t files;   /* its fd table, for opens answered in C; 0: none */
    uint32_t here;    /* the view for paths relative to its working directory
                         (the view and the cwd); 0: none */
};

/* An open answered in C, for the sentry's fd table to adopt. */
struct rp_opened {
    uint32_t files;
    int32_t fd;
    uint32_t file_id;
    uint32_t cloexec;
    int32_t closed_by; /* 0, or the host tid that closed it, also here */
};

/* Same layout as struct user_regs_struct on x86_64. */
struct rp_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx,
        rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds,
        es, fs, gs;
};

struct rp_rule {
    int32_t nr;
    uint32_t action;
};

struct rp_spawn {
    const char *path;          /* what the child execs (the sentry rewrites it) */
    char *const *argv;
    char *const *envp;
    const void *bpf;           /* struct sock_filter[] from rp_filter_build */
    int32_t bpf_len;           /* number of instructions */
    uint32_t filter_flags;     /* SECCOMP_FILTER_FLAG_* */
    uint32_t clone_flags;      /* CLONE_NEW* for the workload's namespaces */
    int32_t sync_fd;           /* child end of a socketpair to the sentry */
    int32_t cpu;               /* pin the child to this cpu, or -1 */
    const char *root;          /* "/": the host root, made read-only in place (with
                                  no /proc, /sys or /dev); else pivot_root to a
                                  read-only bind of this directory (a container's
                                  rootfs); either way PT_INTERP is opened there */
    int32_t join_pidfd;        /* -1, or a pidfd whose mount, net, ipc and uts
                                  namespaces the child joins (an exec into a
                                  container; the pid namespace is the caller's
                                  pid_for_children) */
    const int32_t *stdio;      /* NULL, or three fds to become the child's 0, 1, 2 */
    int32_t ctty;              /* nonzero: fd 0 becomes the controlling tty of the
                                  child's session (it always has a session of its own) */
    uint32_t host_uid;         /* the unprivileged host ids the child drops to (all */
    uint32_t host_gid;         /* capabilities gone, no supplementary groups) */
    const uint64_t *rlimits;   /* NULL, or n_rlimits triples (resource, soft, hard) the
                                  child sets while it still may (OCI process.rlimits) */
    int32_t n_rlimits;
    const void *profile_bpf;   /* NULL, or an OCI seccomp profile's filter, loaded
                                  before the sentry's so its denials win */
    int32_t profile_bpf_len;
};

/* A libseccomp rule with argument conditions (an OCI seccomp profile's). */
struct rp_cond {
    uint32_t arg;              /* 0..5 */
    uint32_t op;               /* enum scmp_compare */
    uint64_t a, b;
};

struct rp_cond_rule {
    int32_t nr;
    uint32_t action;
    uint32_t ncond;
    struct rp_cond conds[6];
};

/* The Python callbacks rp_loop_run calls (rp_py_trap, rp_py_wait,
 * rp_py_event) are declared `extern "Python"` in runsc_py/_build_interpose.py;
 * a nonzero return from any of them stops the loop. */

/* -- the loop -- */
int rp_loop_run(int notify_fd, int sigchld_fd, int direct_receive);
int rp_loop_watch(int fd, int is_listener);
void rp_loop_unwatch(int fd);
void rp_loop_set_notify_fd(int notify_fd);
void rp_fast_path_enable(int on);
int rp_current_cpu(void);
int rp_cpumask_size(void);
uint64_t rp_fast_path_count(int nr);

/* -- fast-path identity table -- */
int rp_ids_set(const struct rp_ids *ids);
void rp_ids_clear(int32_t tid);
int rp_ids_get(int32_t tid, struct rp_ids *out);

/* -- answers replayed in C: stat and open (answer_cache.c) -- */
#define RP_STAT_SIZE 144       /* struct stat on x86_64 */
#define RP_STATX_SIZE 256      /* struct statx */
#define RP_FORM_STAT 0         /* which answer an entry holds: stat's, */
#define RP_FORM_NOFOLLOW 1     /* ...without following a last symlink, */
#define RP_FORM_STATX 2        /* ...as statx's struct (a bit, with NOFOLLOW) */
#define RP_STAT_PATH_MAX 256   /* longer paths are always answered in Python */
#define RP_PURE_ALWAYS 1       /* the call never changes a path's attributes */
#define RP_PURE_READONLY_OPEN 2 /* pure unless its flags ask to write or create */
int rp_stat_cache_put(uint32_t view, int form, const char *path,
                      const void *st, int32_t err);
int rp_stat_cache_get(uint32_t view, int form, const char *path, void *st_out);
void rp_stat_cache_flush(void);
void rp_stat_cache_set_pure(int nr, int kind, int flags_arg);
void rp_stat_cache_after_call(int nr, const uint64_t *args);
int rp_open_cache_put(uint32_t view, const char *path, int32_t flags, int host_fd,
                      uint32_t file_id);
int rp_opened_take(struct rp_opened *out, int max);
int rp_opened_count(void);

/* -- seccomp -- */
int rp_filter_build(const struct rp_rule *rules, int n, uint32_t default_action,
                    int out_fd);
int rp_filter_load_self(const void *bpf, int32_t len, uint32_t flags);
int rp_filter_build_cond(const struct rp_cond_rule *rules, int n, uint32_t default_action,
                         int out_fd, int32_t *failed);
int rp_syscall_nr(const char *name);
/* libseccomp's version, major * 10000 + minor * 100 + micro: what its programs depend on. */
int rp_libseccomp_version(void);
int rp_notify_send(int fd, uint64_t id, int64_t val, int32_t err, uint32_t flags);
int rp_notify_addfd(int fd, uint64_t id, int srcfd, int newfd, uint32_t newfd_flags,
                    uint32_t flags);
int rp_notify_id_valid(int fd, uint64_t id);
int rp_notify_set_sync_wakeup(int fd);

/* -- ptrace -- */
long rp_ptrace(int request, int32_t pid, uint64_t addr, uint64_t data);
int rp_get_regs(int32_t pid, struct rp_regs *regs);
int rp_set_regs(int32_t pid, const struct rp_regs *regs);
int rp_reply_ptrace(int32_t pid, int kind, int64_t value);

/* -- processes and fds -- */
int32_t rp_spawn_workload(const struct rp_spawn *spawn);
int rp_serve_notification(int fd);
int rp_setns(int fd, int nstype);
int rp_signalfd_sigchld(void);
int rp_pidfd_open(int32_t pid);
int rp_pidfd_getfd(int pidfd, int fd);
int rp_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode,
               uint64_t resolve);

/* -- guest memory -- */
int64_t rp_mem_read(int32_t pid, uint64_t addr, void *buf, uint64_t len);
int64_t rp_mem_write(int32_t pid, uint64_t addr, const void *buf, uint64_t len);
int64_t rp_mem_read_cstr(int32_t pid, uint64_t addr, char *buf, uint64_t max);
/* RP_CDEF_END */
