/*
 * hostcalls.h — host calls Python 3.11's os module lacks (hostcalls.c).
 *
 * The part between the RP_CDEF_BEGIN/RP_CDEF_END markers is read by cffi's
 * cdef (runsc_py/_build_interpose.py), so it must stay in the C subset cffi
 * parses. Each returns what the call returns, or -errno.
 */
#ifndef RP_HOSTCALLS_H
#define RP_HOSTCALLS_H

#include <stdint.h>

/* RP_CDEF_BEGIN */
int rp_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                 unsigned int flags);
int rp_fchmodat2(int dirfd, const char *path, unsigned int mode, int flags);
int rp_link_fd(int fd, int dirfd, const char *name);
int64_t rp_fstatfs_type(int fd);
int rp_fsopen(const char *fsname, unsigned int flags);
int rp_fsconfig(int fd, unsigned int cmd, const char *key, const char *value, int aux);
int rp_fsmount(int fd, unsigned int flags, unsigned int attr_flags);
int rp_signalfd(int fd, uint64_t mask, int flags);
int rp_timerfd_create(int clockid, int flags);
int rp_timerfd_every(int fd, int64_t interval_ns);
int rp_set_pdeathsig(int sig);
int rp_keep_capabilities(uint64_t keep);
int rp_landlock_abi(void);
int rp_landlock_create_ruleset(uint64_t handled_access_fs);
int rp_landlock_add_path_rule(int ruleset_fd, uint64_t allowed_access, int parent_fd);
int rp_landlock_restrict_self(int ruleset_fd);
int rp_landlock_restrict_scopes(uint64_t scoped);
int rp_inotify_init1(int flags);
int rp_inotify_add_watch(int fd, const char *path, uint32_t mask);
int rp_inotify_rm_watch(int fd, int wd);
int rp_unshare_net(void);
int rp_hold_directory(const char *path);
int rp_empty_root(const char *const *paths, int n, const char *const *links, int n_links,
                  int outer_proc);
int rp_procfs_of(int pidns_fd);
int rp_detached_tree(const char *path, int readonly);
int rp_mq_open(const char *name, int oflag, unsigned int mode, const void *attr);
int rp_mq_unlink(const char *name);
/* RP_CDEF_END */

#endif
