/*
 * hostcalls.c — host calls Python 3.11's os module lacks, for
 * runsc_py/hostcalls.py (which raises OSError from the -errno these return).
 *
 * The gofer's (renameat2 without glibc's fallback, fchmodat2, linking an
 * O_TMPFILE, fstatfs's f_type, Landlock, its parent-death signal), the
 * tmpfs store's detached mount (fsopen, fsconfig, fsmount), and the
 * signalfd and timerfd objects the sentry makes for the workload, the
 * sandbox's new network namespace (rp_unshare_net), the sentry's and
 * spawner's empty roots (rp_empty_root), the gofer's detached trees, and POSIX
 * message queues made in the workload's IPC namespace (rp_mq_*: raw
 * calls, without glibc's leading-slash rule, as the workload made them). They were
 * ctypes calls; ctypes costs ~1.8 ms to import, on the sandbox's start-up
 * path. None is on the syscall hot path.
 *
 * Compiled into runsc_py._interpose beside interpose.c (one cffi module).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "hostcalls.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static int rp_rc(long rc)
{
    return rc < 0 ? -errno : (int)rc;
}

/* The raw syscall: glibc's wrapper makes a renameat call instead when flags
 * are 0, which the gofer's filter does not allow. */
int rp_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                 unsigned int flags)
{
    return rp_rc(syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags));
}

/* fchmodat2 (Linux 6.6): chmod of a name without following a symlink. */
int rp_fchmodat2(int dirfd, const char *path, unsigned int mode, int flags)
{
    return rp_rc(syscall(SYS_fchmodat2, dirfd, path, mode, flags));
}

/* linkat(fd, "", dirfd, name, AT_EMPTY_PATH): a name for an open file. */
int rp_link_fd(int fd, int dirfd, const char *name)
{
    return rp_rc(linkat(fd, "", dirfd, name, AT_EMPTY_PATH));
}

/* The filesystem's magic number (f_type), which os.fstatvfs does not give. */
int64_t rp_fstatfs_type(int fd)
{
    struct statfs st;
    if (fstatfs(fd, &st) < 0)
        return -errno;
    return (int64_t)(uint64_t)(unsigned long)st.f_type;
}

int rp_fsopen(const char *fsname, unsigned int flags)
{
    return rp_rc(syscall(SYS_fsopen, fsname, flags));
}

int rp_fsconfig(int fd, unsigned int cmd, const char *key, const char *value, int aux)
{
    return rp_rc(syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}

int rp_fsmount(int fd, unsigned int flags, unsigned int attr_flags)
{
    return rp_rc(syscall(SYS_fsmount, fd, flags, attr_flags));
}

/* signalfd4 with the kernel's 8-byte mask: a new signalfd (fd -1) or a new
 * mask for one. */
int rp_signalfd(int fd, uint64_t mask, int flags)
{
    return rp_rc(syscall(SYS_signalfd4, fd, &mask, sizeof mask, flags));
}

int rp_timerfd_create(int clockid, int flags)
{
    return rp_rc(timerfd_create(clockid, flags));
}

/* Arm a timerfd of the sentry's to fire every interval_ns from now (0 disarms). */
int rp_timerfd_every(int fd, int64_t interval_ns)
{
    struct itimerspec its = {
        .it_interval = { interval_ns / 1000000000, interval_ns % 1000000000 },
        .it_value = { interval_ns / 1000000000, interval_ns % 1000000000 },
    };
    return rp_rc(timerfd_settime(fd, 0, &its, NULL));
}

/* The signal this process gets when its parent dies (PR_SET_PDEATHSIG). */
int rp_set_pdeathsig(int sig)
{
    return rp_rc(prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0));
}

/* Keep only the capabilities in `keep` (a bit per CAP_*): the others leave
 * the bounding set (while CAP_SETPCAP is still effective), then the
 * effective, permitted and inheritable sets of this thread, and the
 * ambient set is emptied. Threads started later inherit the result; call
 * it while the process has one thread. */
int rp_keep_capabilities(uint64_t keep)
{
    for (int cap = 0; cap <= 63; cap++) {
        if (keep & (1ULL << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)   /* beyond the last this kernel knows */
                break;
            return -errno;
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {{0}};
    data[0].effective = data[0].permitted = (uint32_t)keep;
    data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
    return rp_rc(syscall(SYS_capset, &head, data));
}

/* The host's Landlock ABI version (-errno when Landlock is absent). */
int rp_landlock_abi(void)
{
    return rp_rc(syscall(SYS_landlock_create_ruleset, NULL, 0,
                         LANDLOCK_CREATE_RULESET_VERSION));
}

/* A ruleset handling these filesystem rights (the ABI 1 struct: nothing else). */
int rp_landlock_create_ruleset(uint64_t handled_access_fs)
{
    struct { uint64_t handled_access_fs; } attr = { handled_access_fs };
    return rp_rc(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
}

int rp_landlock_add_path_rule(int ruleset_fd, uint64_t allowed_access, int parent_fd)
{
    struct landlock_path_beneath_attr rule = {
        .allowed_access = allowed_access, .parent_fd = parent_fd,
    };
    return rp_rc(syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0));
}

int rp_landlock_restrict_self(int ruleset_fd)
{
    return rp_rc(syscall(SYS_landlock_restrict_self, ruleset_fd, 0));
}

/* The calling process, and everything it forks from now on, enters a
 * Landlock domain that handles no file or network right, only these
 * scopes (ABI 6: LANDLOCK_SCOPE_SIGNAL is 2). Any domain also limits
 * ptrace and what ptrace's access check guards (/proc/PID/{root,mem,ns},
 * process_vm_*, pidfd_getfd) to tasks of the same domain or one nested in
 * it. No file right is handled, so mounts stay allowed (Landlock refuses
 * them to a domain that handles any). The ABI 6 attribute struct, spelled
 * out: Debian 12's headers lack its `scoped` field. */
int rp_landlock_restrict_scopes(uint64_t scoped)
{
    struct {
        uint64_t handled_access_fs, handled_access_net, scoped;
    } attr = {.scoped = scoped};
    int ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    int rc;

    if (ruleset < 0)
        return -errno;
    rc = rp_rc(syscall(SYS_landlock_restrict_self, ruleset, 0));
    close(ruleset);
    return rc;
}

/* The sentry's own host inotify instance (sentry/inotify_host.py). */
int rp_inotify_init1(int flags)
{
    return rp_rc(inotify_init1(flags));
}

int rp_inotify_add_watch(int fd, const char *path, uint32_t mask)
{
    return rp_rc(inotify_add_watch(fd, path, mask));
}

int rp_inotify_rm_watch(int fd, int wd)
{
    return rp_rc(inotify_rm_watch(fd, wd));
}

/* A new network namespace for the calling (single-threaded) process, with
 * its `lo` up, as runc makes for a `network` entry without a path (its
 * "loopback" network). The caller's namespace is never touched: the socket
 * the ioctls use is made after the unshare. */
int rp_unshare_net(void)
{
    struct ifreq req;
    int fd, rc = 0;

    if (unshare(CLONE_NEWNET) < 0)
        return -errno;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&req, 0, sizeof(req));
    strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFFLAGS, &req) < 0)
        rc = -errno;
    else if (!(req.ifr_flags & IFF_UP)) {
        req.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &req) < 0)
            rc = -errno;
    }
    close(fd);
    return rc;
}

/* A detached bind mount of one directory (open_tree with OPEN_TREE_CLONE,
 * not recursive), as an O_PATH fd of its root: files can be made in it,
 * and a ".." from it stays there (a mount with no parent has nowhere to
 * climb), where an fd on the directory itself would lead up into the rest
 * of its filesystem, writable in the host's namespace. */
int rp_hold_directory(const char *path)
{
    return rp_rc(syscall(SYS_open_tree, AT_FDCWD, path, 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC));
}

/* mount_setattr(2) by number (Debian 12's headers lack its wrapper). */
#define RP_HC_NR_MOUNT_SETATTR 442
#define RP_HC_AT_RECURSIVE 0x8000
#define RP_HC_MOUNT_ATTR_RDONLY 0x1
#define RP_HC_MOUNT_ATTR_NOSUID 0x2
#define RP_HC_MOUNT_ATTR_NODEV 0x4
#define RP_HC_MOUNT_ATTR_NOEXEC 0x8

static int rp_set_mount_attr(int dirfd, const char *path, unsigned int flags, uint64_t set)
{
    struct {
        uint64_t attr_set, attr_clr, propagation, userns_fd;
    } attr = {.attr_set = set};

    return syscall(RP_HC_NR_MOUNT_SETATTR, dirfd, path, flags, &attr, sizeof attr) < 0 ? -errno : 0;
}

/* `rel` beneath `dirfd`, made like mkdir -p. */
static int rp_make_path(int dirfd, const char *rel)
{
    char buf[4096];
    size_t len = strlen(rel);

    if (len == 0 || len >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, rel, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdirat(dirfd, buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdirat(dirfd, buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* A filesystem of `type` (a string option first, if any), as a detached
 * mount with `attrs`. */
static int rp_new_mount(const char *type, const char *key, const char *value, unsigned int attrs)
{
    int fs = syscall(SYS_fsopen, type, 1 /* FSOPEN_CLOEXEC */);
    int mnt, err;

    if (fs < 0)
        return -errno;
    if ((key && syscall(SYS_fsconfig, fs, 1 /* FSCONFIG_SET_STRING */, key, value, 0) < 0) ||
        syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) < 0) {
        err = errno;
        close(fs);
        return -err;
    }
    mnt = syscall(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, attrs);
    err = errno;
    close(fs);
    return mnt < 0 ? -err : mnt;
}

/* A detached mount of `type` at `rel` beneath `root` (made there). */
static int rp_mount_new(int root, const char *rel, const char *type, const char *key,
                        const char *value, unsigned int attrs)
{
    int mnt = rp_new_mount(type, key, value, attrs), rc;

    if (mnt < 0)
        return mnt;
    rc = rp_make_path(root, rel);
    if (rc == 0 && syscall(SYS_move_mount, mnt, "", root, rel, 4 /* F_EMPTY_PATH */) < 0)
        rc = -errno;
    close(mnt);
    return rc;
}

/* The calling (single-threaded) process, the sentry or its spawner, moves
 * into a mount namespace of its own whose root is an empty read-only tmpfs
 * holding only:
 * - `paths`, each a detached copy of the host's mounts there, read-only,
 *   nosuid and nodev (the copies are made first, while a path is still
 *   the host's);
 * - `links` (name, target pairs: the host's /lib -> usr/lib and the like);
 * - a procfs of its own, read-only, hidepid=ptraceable: a process shows
 *   there only if the sentry may ptrace it, which its Landlock domain
 *   limits to its own;
 * - a devpts instance of its own at /dev/pts, /dev/ptmx its ptmx (0666,
 *   as the sentry has no CAP_DAC_OVERRIDE): the ptys it makes from now on
 *   are there, and no host terminal is.
 * The host's tree is gone from its view: pivot_root, then the old root
 * detached. Files it opened before keep their access. With `outer_proc` (a procfs mount of the sandbox's pid namespace), that
 * tree is a directory, `sentry`, of an outer root holding only `proc` =
 * `outer_proc`, and the caller chroots into it: a process that joins this
 * mount namespace (setns puts it at the namespace's root) sees the
 * sandbox's processes in /proc, as in a runc container's; engines' `top`
 * reads them there. */
int rp_empty_root(const char *const *paths, int n, const char *const *links, int n_links,
                  int outer_proc)
{
    int trees[32], root = -1, outer = -1, top, i, rc = 0;
    const uint64_t sealed = RP_HC_MOUNT_ATTR_RDONLY | RP_HC_MOUNT_ATTR_NOSUID |
                            RP_HC_MOUNT_ATTR_NODEV;

    if (n > 32)
        return -E2BIG;
    for (i = 0; i < n; i++)
        trees[i] = -1;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    for (i = 0; i < n; i++) {
        trees[i] = syscall(SYS_open_tree, AT_FDCWD, paths[i],
                           1 /* OPEN_TREE_CLONE */ | O_CLOEXEC | RP_HC_AT_RECURSIVE);
        if (trees[i] < 0) {
            rc = -errno;
            goto out;
        }
        rc = rp_set_mount_attr(trees[i], "", AT_EMPTY_PATH | RP_HC_AT_RECURSIVE, sealed);
        if (rc < 0)
            goto out;
    }
    root = rp_new_mount("tmpfs", "mode", "0755", RP_HC_MOUNT_ATTR_NOSUID | RP_HC_MOUNT_ATTR_NODEV);
    if (root < 0) {
        rc = root;
        goto out;
    }
    top = root;
    if (outer_proc >= 0) {
        outer = rp_new_mount("tmpfs", "mode", "0755",
                             RP_HC_MOUNT_ATTR_NOSUID | RP_HC_MOUNT_ATTR_NODEV);
        if (outer < 0) {
            rc = outer;
            goto out;
        }
        top = outer;
    }
    /* In the tree (over /proc: always there), so mounts can move into it. */
    if (syscall(SYS_move_mount, top, "", AT_FDCWD, "/proc", 4 /* F_EMPTY_PATH */) < 0 ||
        (outer >= 0 &&
         (mkdirat(outer, "proc", 0555) < 0 || mkdirat(outer, "sentry", 0755) < 0 ||
          syscall(SYS_move_mount, outer_proc, "", outer, "proc", 4) < 0 ||
          syscall(SYS_move_mount, root, "", outer, "sentry", 4) < 0))) {
        rc = -errno;
        goto out;
    }
    rc = rp_mount_new(root, "proc", "proc", "hidepid", "ptraceable",
                      sealed | RP_HC_MOUNT_ATTR_NOEXEC);
    if (rc == 0)
        rc = rp_mount_new(root, "dev/pts", "devpts", "ptmxmode", "0666",   /* no NODEV */
                          RP_HC_MOUNT_ATTR_RDONLY | RP_HC_MOUNT_ATTR_NOSUID |
                          RP_HC_MOUNT_ATTR_NOEXEC);
    if (rc < 0)
        goto out;
    if (symlinkat("pts/ptmx", root, "dev/ptmx") < 0) {
        rc = -errno;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if ((rc = rp_make_path(root, paths[i] + 1)) < 0)
            goto out;
        if (syscall(SYS_move_mount, trees[i], "", root, paths[i] + 1, 4) < 0) {
            rc = -errno;
            goto out;
        }
    }
    for (i = 0; i < n_links; i++)
        if (symlinkat(links[2 * i + 1], root, links[2 * i]) < 0) {
            rc = -errno;
            goto out;
        }
    if (fchdir(top) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
        umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
        rc = -errno;
        goto out;
    }
    if (outer >= 0 && ((rc = rp_set_mount_attr(AT_FDCWD, "/", 0, sealed)) < 0 ||
                       chroot("sentry") < 0 || chdir("/") < 0)) {
        rc = rc < 0 ? rc : -errno;
        goto out;
    }
    rc = rp_set_mount_attr(AT_FDCWD, "/", 0, sealed);
out:
    for (i = 0; i < n; i++)
        if (trees[i] >= 0)
            close(trees[i]);
    if (root >= 0)
        close(root);
    if (outer >= 0)
        close(outer);
    return rc;
}

/* A procfs of the pid namespace `pidns_fd` names, as a detached mount's fd
 * (read-only, nosuid, nodev, noexec): fsconfig's "pidns" option (Linux
 * 6.18), so no process has to be made in that namespace (it would take a
 * pid there the workload would see missing). For the root of the sentry's
 * mount namespace (rp_empty_root). */
int rp_procfs_of(int pidns_fd)
{
    int fs = syscall(SYS_fsopen, "proc", 1 /* FSOPEN_CLOEXEC */), mnt = -1;

    if (fs < 0)
        return -errno;
    if (syscall(SYS_fsconfig, fs, 5 /* FSCONFIG_SET_FD */, "pidns", NULL, pidns_fd) == 0 &&
        syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) == 0)
        mnt = syscall(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */,
                      RP_HC_MOUNT_ATTR_RDONLY | RP_HC_MOUNT_ATTR_NOSUID |
                      RP_HC_MOUNT_ATTR_NODEV | RP_HC_MOUNT_ATTR_NOEXEC);
    mnt = mnt < 0 ? -errno : mnt;
    close(fs);
    return mnt;
}

/* A tree the gofer serves, as a detached copy of its mounts (open_tree
 * with OPEN_TREE_CLONE | AT_RECURSIVE): every mount nosuid, nodev and
 * private, and read-only for a read-only tree. Every fd the gofer opens
 * beneath it, and donates to the sentry, lives on those mounts: a write
 * through one of a read-only tree fails with EROFS whoever tries it, and
 * a ".." from the tree's root has nowhere to climb (its mount has no
 * parent), where the host's own mounts would lead into its writable /. */
int rp_detached_tree(const char *path, int readonly)
{
    struct {
        uint64_t attr_set, attr_clr, propagation, userns_fd;
    } attr = {
        .attr_set = RP_HC_MOUNT_ATTR_NOSUID | RP_HC_MOUNT_ATTR_NODEV |
                    (readonly ? RP_HC_MOUNT_ATTR_RDONLY : 0),
        .propagation = MS_PRIVATE,
    };
    int fd = syscall(SYS_open_tree, AT_FDCWD, path,
                     1 /* OPEN_TREE_CLONE */ | O_CLOEXEC | RP_HC_AT_RECURSIVE);
    int err;

    if (fd < 0)
        return -errno;
    if (syscall(RP_HC_NR_MOUNT_SETATTR, fd, "", AT_EMPTY_PATH | RP_HC_AT_RECURSIVE,
                &attr, sizeof attr) < 0) {
        err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int rp_mq_open(const char *name, int oflag, unsigned int mode, const void *attr)
{
    return rp_rc(syscall(SYS_mq_open, name, oflag | O_CLOEXEC, mode, attr));
}

int rp_mq_unlink(const char *name)
{
    return rp_rc(syscall(SYS_mq_unlink, name));
}
