/* File capabilities on exec: `fcaps_exec make DIR` (as root) copies itself
 * into DIR with security.capability xattrs of several kinds (and reports
 * what setxattr says to malformed ones, and to a user without
 * CAP_SETFCAP); `fcaps_exec run DIR` execs the copies from children that
 * first become someone else. Each exec'd copy prints its capability sets,
 * ids and AT_SECURE. Run natively and sandboxed, the lines must match; on
 * a nosuid mount the file capabilities must count for nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CAP_BIT(c) (1ull << (c))

static uint64_t status_field(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t value = ~0ull;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, name, strlen(name)) == 0)
            value = strtoull(line + strlen(name) + 1, NULL, 16);
    if (f)
        fclose(f);
    return value;
}

static void show(const char *label)
{
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    uint64_t eff = d[0].effective | (uint64_t)d[1].effective << 32;
    uint64_t prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    uint64_t inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    printf("%s: uid %u/%u/%u inh %llx prm %llx eff %llx amb %llx status %llx/%llx secure %lu\n",
           label, r, e, s, (unsigned long long)inh, (unsigned long long)prm, (unsigned long long)eff,
           (unsigned long long)status_field("CapAmb:"), (unsigned long long)status_field("CapPrm:"),
           (unsigned long long)status_field("CapEff:"), getauxval(AT_SECURE));
    fflush(stdout);
}

/* vfs_cap_data (revision 2) or vfs_ns_cap_data (revision 3), little-endian u32s */
static size_t caps_xattr(uint32_t *out, int revision, int effective, uint64_t permitted,
                         uint64_t inheritable, uint32_t rootid)
{
    out[0] = (revision == 3 ? 0x03000000u : 0x02000000u) | (effective ? 1 : 0);
    out[1] = (uint32_t)permitted;
    out[2] = (uint32_t)inheritable;
    out[3] = (uint32_t)(permitted >> 32);
    out[4] = (uint32_t)(inheritable >> 32);
    out[5] = rootid;
    return revision == 3 ? 24 : 20;
}

static void copy_self(const char *to, mode_t mode)
{
    int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    if (in < 0 || out < 0) { perror("copy"); exit(2); }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) { perror("write"); exit(2); }
    close(in);
    close(out);
    if (chmod(to, mode)) { perror("chmod"); exit(2); }
}

static const char *dir;

static void make(const char *name, mode_t mode, int revision, int effective, uint64_t permitted,
                 uint64_t inheritable, uint32_t rootid)
{
    char path[4096];
    uint32_t value[6];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    copy_self(path, mode);
    size_t size = caps_xattr(value, revision, effective, permitted, inheritable, rootid);
    if (setxattr(path, "security.capability", value, size, 0)) { perror(name); exit(2); }
    ssize_t got = getxattr(path, "security.capability", value, sizeof value);
    printf("%s: reads back %zd bytes, revision %u, effective %u\n", name, got, value[0] >> 24, value[0] & 1);
}

static const char *setxattr_error(const char *path, const void *value, size_t size)
{
    return setxattr(path, "security.capability", value, size, 0) ? strerrorname_np(errno) : "ok";
}

static void make_all(void)
{
    if (mkdir(dir, 0755) && errno != EEXIST) { perror("mkdir"); exit(2); }
    chmod(dir, 0755);
    make("raw", 0755, 2, 0, CAP_BIT(CAP_NET_RAW) | CAP_BIT(CAP_NET_BIND_SERVICE), 0, 0);
    make("raw-eff", 0755, 2, 1, CAP_BIT(CAP_NET_RAW), 0, 0);
    make("kill-inh", 0755, 2, 0, 0, CAP_BIT(CAP_KILL), 0);
    make("time-v3", 0755, 3, 1, CAP_BIT(CAP_SYS_TIME) | CAP_BIT(CAP_CHECKPOINT_RESTORE), 0, 0);
    make("v3-other-root", 0755, 3, 1, CAP_BIT(CAP_NET_RAW), 0, 1000);
    make("admin-eff", 0755, 2, 1, CAP_BIT(CAP_SYS_ADMIN), 0, 0);
    make("suid-root-raw", 04755, 2, 0, CAP_BIT(CAP_NET_RAW), 0, 0);

    char path[4096];
    uint32_t value[6];
    snprintf(path, sizeof path, "%s/plain", dir);
    copy_self(path, 0755);
    size_t size = caps_xattr(value, 2, 0, 1, 0, 0);
    printf("19 bytes: %s\n", setxattr_error(path, value, 19));
    value[0] = 0x01000000;
    printf("revision 1: %s\n", setxattr_error(path, value, 12));
    value[0] = 0x02000000;
    printf("revision 2 in 24 bytes: %s\n", setxattr_error(path, value, 24));
    printf("security.other by root: %s\n",
           setxattr(path, "security.other", "x", 1, 0) ? strerrorname_np(errno) : "ok");
    pid_t pid = fork();
    if (pid == 0) {
        chmod(path, 0777);
        if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) { perror("setres*id"); _exit(2); }
        printf("user without CAP_SETFCAP: %s\n", setxattr_error(path, value, size));
        printf("user's security.other: %s\n",
               setxattr(path, "security.other", "x", 1, 0) ? strerrorname_np(errno) : "ok");
        printf("user removes it: %s\n",
               removexattr(path, "security.capability") ? strerrorname_np(errno) : "ok");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("root removes security.other: %s\n",
           removexattr(path, "security.other") ? strerrorname_np(errno) : "ok");
    /* chown drops file capabilities, as it drops set-uid bits */
    snprintf(path, sizeof path, "%s/chowned", dir);
    copy_self(path, 0755);
    caps_xattr(value, 2, 0, CAP_BIT(CAP_NET_RAW), 0, 0);
    printf("chowned: set %s", setxattr_error(path, value, size));
    if (chown(path, 0, 0)) perror("chown");
    printf(", after chown: %s\n", getxattr(path, "security.capability", value, sizeof value) < 0
                                      ? strerrorname_np(errno) : "kept");
}

enum { NO_NEW_PRIVS = 1, KEEP_KILL = 2, AMBIENT_KILL = 4, DROP_ADMIN = 8 };

/* Exec DIR/name as uid `uid` after the given changes; print what it sees. */
static void run_as(const char *name, const char *label, uid_t uid, int how)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    pid_t pid = fork();
    if (pid == 0) {
        if (how & DROP_ADMIN && prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0)) { perror("drop"); _exit(2); }
        if (how & (KEEP_KILL | AMBIENT_KILL))
            prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
        if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) { perror("setres*id"); _exit(2); }
        if (how & (KEEP_KILL | AMBIENT_KILL)) {
            struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
            struct __user_cap_data_struct d[2] = {{0}};
            d[0].permitted = d[0].inheritable = CAP_BIT(CAP_KILL);
            if (syscall(SYS_capset, &h, d)) { perror("capset"); _exit(2); }
        }
        if (how & AMBIENT_KILL && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0)) {
            perror("ambient");
            _exit(2);
        }
        if (how & NO_NEW_PRIVS && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("prctl"); _exit(2); }
        execl(path, path, "show", label, (char *)NULL);
        printf("%s: exec: %s\n", label, strerrorname_np(errno));
        fflush(stdout);
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "show") == 0) {
        show(argv[2]);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: fcaps_exec make|run DIR\n");
        return 2;
    }
    dir = argv[2];
    if (strcmp(argv[1], "make") == 0) {
        make_all();
        return 0;
    }
    run_as("plain", "user runs a file without capabilities", 1000, 0);
    run_as("raw", "user runs fP=net_raw,net_bind_service", 1000, 0);
    run_as("raw-eff", "user runs fP=net_raw fE", 1000, 0);
    run_as("raw-eff", "user with no_new_privs runs fP=net_raw fE", 1000, NO_NEW_PRIVS);
    run_as("kill-inh", "user runs fI=kill", 1000, 0);
    run_as("kill-inh", "user with pI=kill runs fI=kill", 1000, KEEP_KILL);
    run_as("raw", "user with ambient kill runs fP=net_raw", 1000, AMBIENT_KILL);
    run_as("plain", "user with ambient kill runs a plain file", 1000, AMBIENT_KILL);
    run_as("time-v3", "user runs a v3 fP=sys_time,checkpoint_restore fE for root 0", 1000, 0);
    run_as("v3-other-root", "user runs a v3 for root 1000", 1000, 0);
    run_as("admin-eff", "user runs fP=sys_admin fE", 1000, 0);
    run_as("admin-eff", "user without sys_admin in its bounding set runs it", 1000, DROP_ADMIN);
    run_as("suid-root-raw", "user runs root's set-uid fP=net_raw", 1000, 0);
    run_as("raw", "root runs fP=net_raw", 0, 0);
    run_as("admin-eff", "root without sys_admin in its bounding set runs fP=sys_admin fE", 0, DROP_ADMIN);
    return 0;
}
