/*
 * answer_cache.c — stat and open answers the sentry has already given,
 * replayed in C.
 *
 * A trapped call answered in Python costs ~14 µs before any work; the
 * kernel round trip alone is ~6 µs. `stat` of a path the sentry has
 * resolved before needs no Python at all if its answer cannot have changed,
 * so the sentry hands each such answer here (rp_stat_cache_put) and the loop
 * replays it for stat, lstat, newfstatat and statx of the same absolute
 * path (each answer is kept in the shape of its call: RP_FORM_*).
 *
 * Opens work the same way (rp_open_cache_put): a read-only open of a
 * rootfs file the sentry has opened before is answered by re-opening the
 * file it vetted (the cache holds an O_PATH fd of it) and installing the new
 * description with NOTIF_ADDFD, the kernel choosing the lowest free number
 * as Linux would. The sentry's fd table learns of the fd at its next entry
 * into Python (rp_opened_take, "adopted"); a `close` of such an fd before
 * then is answered here too, by letting the host close it.
 *
 * What may be cached is Python's decision (runsc_py/sentry/answer_cache.py):
 * only answers the workload's own native I/O cannot change (directories,
 * symlinks, unmodified rootfs files, missing names) reached through
 * filesystems whose names change only through the sentry. Keys carry the
 * caller's *view* (its mount namespace, root and search credentials,
 * rp_ids.view), because the same path can resolve differently for a
 * chroot'ed or unprivileged task; a path relative to the working
 * directory is keyed by the view that also names the cwd (rp_ids.here).
 *
 * When the cache forgets is decided here, conservatively: every trapped
 * call Python handles empties it (a generation bump, O(1)), except the
 * calls marked pure (rp_stat_cache_set_pure): stat itself, reads of
 * metadata, close, read-only opens. Any other work Python does outside a
 * call (a parked call finishing, a control request) empties it too; the
 * lifecycle events of processes (fork, exec, exit) and the delivery of an
 * exec's fd change no path and keep it.
 */

#define SC_SLOTS 4096  /* power of two */
#define SC_PROBES 8

struct sc_entry {
    uint64_t gen;      /* valid while equal to sc_gen */
    uint32_t view;
    uint32_t hash;
    int32_t err;       /* 0: st holds the answer; else the errno */
    uint8_t form;      /* RP_FORM_*: which call, so which struct st holds */
    char path[RP_STAT_PATH_MAX];
    unsigned char st[RP_STATX_SIZE];
};

static struct sc_entry sc_table[SC_SLOTS];
static uint64_t sc_gen = 1;
static uint8_t sc_pure[512];
static uint8_t sc_flags_arg[512];

static size_t form_size(int form) { return (form & RP_FORM_STATX) ? RP_STATX_SIZE : RP_STAT_SIZE; }

static uint32_t sc_hash(uint32_t view, int form, const char *path)
{
    uint32_t h = 2166136261u ^ view ^ ((uint32_t)form << 30);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static struct sc_entry *sc_find(uint32_t view, int form, const char *path)
{
    uint32_t h = sc_hash(view, form, path);
    for (unsigned i = 0; i < SC_PROBES; i++) {
        struct sc_entry *e = &sc_table[(h + i) & (SC_SLOTS - 1)];
        if (e->gen == sc_gen && e->hash == h && e->view == view &&
            e->form == form && strcmp(e->path, path) == 0)
            return e;
    }
    return NULL;
}

int rp_stat_cache_put(uint32_t view, int form, const char *path, const void *st, int32_t err)
{
    size_t len = strlen(path);
    if (view == 0 || len == 0 || len >= RP_STAT_PATH_MAX || (st == NULL) == (err == 0) ||
        form < 0 || form > (RP_FORM_STATX | RP_FORM_NOFOLLOW))
        return -EINVAL;
    uint32_t h = sc_hash(view, form, path);
    struct sc_entry *slot = sc_find(view, form, path);
    for (unsigned i = 0; !slot && i < SC_PROBES; i++) {
        struct sc_entry *e = &sc_table[(h + i) & (SC_SLOTS - 1)];
        if (e->gen != sc_gen)
            slot = e;
    }
    if (!slot) /* a full neighbourhood: the newest answer wins its home slot */
        slot = &sc_table[h & (SC_SLOTS - 1)];
    slot->gen = sc_gen;
    slot->view = view;
    slot->hash = h;
    slot->form = (uint8_t)form;
    slot->err = err;
    memcpy(slot->path, path, len + 1);
    if (st)
        memcpy(slot->st, st, form_size(form));
    return 0;
}

/* For tests: 0 and the stat on a hit, the errno of a cached failure, or -ENOENT. */
int rp_stat_cache_get(uint32_t view, int form, const char *path, void *st_out)
{
    struct sc_entry *e = sc_find(view, form, path);
    if (!e)
        return -ENOENT;
    if (e->err == 0)
        memcpy(st_out, e->st, form_size(form));
    return e->err;
}

void rp_stat_cache_flush(void) { sc_gen++; }

void rp_stat_cache_set_pure(int nr, int kind, int flags_arg)
{
    if (nr >= 0 && nr < 512 && flags_arg >= 0 && flags_arg < 6) {
        sc_pure[nr] = (uint8_t)kind;
        sc_flags_arg[nr] = (uint8_t)flags_arg;
    }
}

/* After Python handled call `nr`: forget everything unless it was pure. */
void rp_stat_cache_after_call(int nr, const uint64_t *args)
{
    if (nr == RP_NR_INSTALL) /* delivers the fds of a call already accounted for (an exec's) */
        return;
    if (nr >= 0 && nr < 512) {
        if (sc_pure[nr] == RP_PURE_ALWAYS)
            return;
        if (sc_pure[nr] == RP_PURE_READONLY_OPEN &&
            !(args[sc_flags_arg[nr]] & (O_ACCMODE | O_CREAT | O_TRUNC | 020000000 /* __O_TMPFILE */)))
            return;
    }
    sc_gen++;
}

/* ------------------------------------------------------------------ */
/* opens                                                               */

#define OC_SLOTS 1024   /* power of two; each holds an O_PATH fd */
#define OC_FLAGS_OK (O_LARGEFILE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY)

struct oc_entry {
    uint64_t gen;
    uint32_t view;
    uint32_t hash;
    int32_t flags;     /* the open's flags without O_CLOEXEC */
    int32_t opath;     /* the sentry's O_PATH fd of the file, or -1 */
    uint32_t file_id;  /* the sentry's template of the open file description */
    char path[RP_STAT_PATH_MAX];
};

static struct oc_entry oc_table[OC_SLOTS];
static int oc_ready = 0;
static int oc_fd_dir = -1; /* the sentry's /proc/self/fd: a re-open walks one name */

/* Opens answered here that the sentry's fd table has not adopted yet. */
#define OPENED_MAX 256
static struct rp_opened opened[OPENED_MAX];
static int n_opened = 0;

static void oc_init(void)
{
    if (oc_ready)
        return;
    for (int i = 0; i < OC_SLOTS; i++)
        oc_table[i].opath = -1;
    oc_fd_dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    oc_ready = oc_fd_dir >= 0;
}

static struct oc_entry *oc_find(uint32_t view, int32_t flags, const char *path)
{
    uint32_t h = sc_hash(view, 0, path) ^ (uint32_t)flags * 2654435761u;
    for (unsigned i = 0; i < SC_PROBES; i++) {
        struct oc_entry *e = &oc_table[(h + i) & (OC_SLOTS - 1)];
        if (e->gen == sc_gen && e->hash == h && e->view == view && e->flags == flags &&
            strcmp(e->path, path) == 0)
            return e;
    }
    return NULL;
}

int rp_open_cache_put(uint32_t view, const char *path, int32_t flags, int host_fd, uint32_t file_id)
{
    size_t len = strlen(path);
    flags &= ~O_CLOEXEC;
    if (view == 0 || path[0] != '/' || len >= RP_STAT_PATH_MAX || (flags & O_ACCMODE) != O_RDONLY ||
        (flags & ~OC_FLAGS_OK))
        return -EINVAL;
    oc_init();
    if (!oc_ready)
        return -ENOENT;
    uint32_t h = sc_hash(view, 0, path) ^ (uint32_t)flags * 2654435761u;
    if (oc_find(view, flags, path))
        return 0; /* still current: nothing changed since, so it names the same file */
    struct oc_entry *slot = NULL;
    for (unsigned i = 0; !slot && i < SC_PROBES; i++) {
        struct oc_entry *e = &oc_table[(h + i) & (OC_SLOTS - 1)];
        if (e->gen != sc_gen)
            slot = e;
    }
    if (!slot)
        slot = &oc_table[h & (OC_SLOTS - 1)];
    char name[16];
    snprintf(name, sizeof name, "%d", host_fd);
    int opath = openat(oc_fd_dir, name, O_PATH | O_CLOEXEC);
    if (opath < 0)
        return -errno;
    if (slot->opath >= 0)
        close(slot->opath);
    *slot = (struct oc_entry){.gen = sc_gen, .view = view, .hash = h, .flags = flags,
                              .opath = opath, .file_id = file_id};
    memcpy(slot->path, path, len + 1);
    return 0;
}

int rp_opened_take(struct rp_opened *out, int max)
{
    int n = n_opened < max ? n_opened : max;
    memcpy(out, opened, sizeof *out * (size_t)n);
    memmove(opened, opened + n, sizeof *out * (size_t)(n_opened - n));
    n_opened -= n;
    return n;
}

int rp_opened_count(void) { return n_opened; }

/* open/openat of a cached absolute path: re-open the vetted file and install
 * it in the caller, answering the call. Returns 1 when it did. */
static int open_fast_path(struct rp_ids *ids, int listener, uint64_t notif_id, int nr,
                          const uint64_t *args)
{
    uint64_t path_addr;
    int32_t flags;
    if (nr == SYS_open)
        path_addr = args[0], flags = (int32_t)args[1];
    else if (nr == SYS_openat)
        path_addr = args[1], flags = (int32_t)args[2];
    else
        return 0;
    if (ids->view == 0 || ids->files == 0 || n_opened == OPENED_MAX || !oc_ready ||
        (flags & O_ACCMODE) != O_RDONLY || (flags & ~OC_FLAGS_OK))
        return 0;
    char path[RP_STAT_PATH_MAX];
    if (rp_mem_read_cstr(ids->tid, path_addr, path, sizeof path) <= 0 || path[0] != '/')
        return 0;
    struct oc_entry *e = oc_find(ids->view, flags & ~O_CLOEXEC, path);
    if (!e)
        return 0;
    char name[16];
    snprintf(name, sizeof name, "%d", e->opath);
    int host = openat(oc_fd_dir, name, (flags & ~(O_NOFOLLOW | O_DIRECTORY)) | O_CLOEXEC);
    if (host < 0)
        return 0;
    int cloexec = (flags & O_CLOEXEC) != 0;
    int fd = rp_notify_addfd(listener, notif_id, host, 0, cloexec ? O_CLOEXEC : 0,
                             SECCOMP_ADDFD_FLAG_SEND);
    close(host);
    if (fd < 0)
        return 0; /* EMFILE, or the caller is gone: Python answers as it would */
    /* A closed record of the same number is spent: the new one overrides it. */
    for (int i = 0; i < n_opened; i++)
        if (opened[i].files == ids->files && opened[i].fd == fd) {
            memmove(&opened[i], &opened[i + 1], sizeof *opened * (size_t)(n_opened - i - 1));
            n_opened--;
            break;
        }
    opened[n_opened++] = (struct rp_opened){.files = ids->files, .fd = fd,
                                            .file_id = e->file_id, .cloexec = cloexec};
    fast_count[nr]++;
    return 1;
}

/* close of an fd opened above and not adopted yet: the host closes it. The
 * record stays, marked, so the sentry quarantines the number as for any
 * native close (fdtable.py) until this thread's next call. Returns 1 when
 * it did. */
static int close_fast_path(struct rp_ids *ids, int nr, const uint64_t *args)
{
    if (nr != SYS_close || ids->files == 0)
        return 0;
    for (int i = n_opened - 1; i >= 0; i--)
        if (opened[i].files == ids->files && (uint64_t)opened[i].fd == args[0]) {
            if (opened[i].closed_by)
                return 0; /* closed already: EBADF is Python's to give */
            opened[i].closed_by = ids->tid;
            return 1;
        }
    return 0;
}

/* ------------------------------------------------------------------ */
/* stat                                                                */

/* Answer stat/lstat/newfstatat/statx of an absolute path, or one relative
 * to the cwd, from the cache.
 * Returns 1 and sets *val (0, or -errno) when it could; 0 means Python must. */
static int stat_fast_path(struct rp_ids *ids, int nr, const uint64_t *args, int64_t *val)
{
    uint64_t path_addr, buf;
    int form;
    switch (nr) {
    case SYS_stat:
        path_addr = args[0], buf = args[1], form = RP_FORM_STAT;
        break;
    case SYS_lstat:
        path_addr = args[0], buf = args[1], form = RP_FORM_NOFOLLOW;
        break;
    case SYS_newfstatat:
        if (args[3] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))
            return 0;
        path_addr = args[1], buf = args[2];
        form = (args[3] & AT_SYMLINK_NOFOLLOW) ? RP_FORM_NOFOLLOW : RP_FORM_STAT;
        break;
    case SYS_statx: /* the sentry fills the basic fields whatever the mask asks */
        if (args[2] & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) ||
            (args[2] & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE || args[3] & STATX__RESERVED)
            return 0;   /* (FORCE_SYNC with DONT_SYNC is Python's EINVAL) */
        path_addr = args[1], buf = args[4];
        form = RP_FORM_STATX | ((args[2] & AT_SYMLINK_NOFOLLOW) ? RP_FORM_NOFOLLOW : 0);
        break;
    default:
        return 0;
    }
    if (ids->view == 0)
        return 0;
    char path[RP_STAT_PATH_MAX];
    if (rp_mem_read_cstr(ids->tid, path_addr, path, sizeof path) <= 0)
        return 0;
    uint32_t view = ids->view;
    if (path[0] != '/') { /* relative: to the cwd only, whose view says where it is */
        if ((nr == SYS_newfstatat || nr == SYS_statx) && (int32_t)args[0] != AT_FDCWD)
            return 0;
        view = ids->here;
        if (view == 0)
            return 0;
    }
    struct sc_entry *e = sc_find(view, form, path);
    if (!e)
        return 0;
    if (e->err) {
        *val = -e->err;
        return 1;
    }
    int64_t size = (int64_t)form_size(form);
    if (rp_mem_write(ids->tid, buf, e->st, (uint64_t)size) != size)
        return 0; /* a bad buffer: Python gives EFAULT */
    *val = 0;
    return 1;
}
