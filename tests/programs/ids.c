/* Identities: the set*id family, groups, capabilities and prctl, step by step.
 * Each line is one call's result; run natively and sandboxed, the lines must match.
 * Needs to start as root (with the host's capability sets). */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%-44s = %ld%s%s\n", #expr, r_, errno ? " " : "", errno ? strerrorname_np(errno) : ""); } while (0)

static void ids(const char *when)
{
    uid_t r, e, s; gid_t rg, eg, sg;
    getresuid(&r, &e, &s); getresgid(&rg, &eg, &sg);
    printf("%s: uid %u/%u/%u gid %u/%u/%u fsuid %d fsgid %d getuid %d geteuid %d\n", when,
           r, e, s, rg, eg, sg, setfsuid(-1), setfsgid(-1), getuid(), geteuid());
}

static void caps(const char *when)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    printf("%s: eff %08x%08x prm %08x%08x inh %08x%08x\n", when,
           d[1].effective, d[0].effective, d[1].permitted, d[0].permitted,
           d[1].inheritable, d[0].inheritable);
}

static void unprivileged_steps(void)
{
    SHOW(setresgid(1000, 1000, 1000));
    gid_t gs[] = {5, 6, 7};
    SHOW(setgroups(3, gs));
    SHOW(getgroups(0, NULL));
    SHOW(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    SHOW(setresuid(1000, 0, 0));
    ids("ruid 1000");
    caps("ruid 1000");
    SHOW(setreuid(-1, 1000));
    ids("euid 1000");
    caps("euid 1000");
    SHOW(setfsuid(0));
    SHOW(setuid(0));
    ids("setuid(0) back");
    caps("setuid(0) back");
    SHOW(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
    SHOW(setresuid(1000, 1000, 1000));
    ids("all 1000");
    caps("all 1000");
    SHOW(setuid(0));
    SHOW(setgid(0));
    SHOW(setgroups(0, NULL));
    SHOW(setresuid(-1, 1000, -1));
    SHOW(setreuid(1000, 2000));
    SHOW(setfsuid(2000));
    ids("end");
    SHOW(kill(1, 0));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);  /* no buffered lines duplicated by fork */
    ids("start");
    SHOW(prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0));
    SHOW(prctl(PR_CAPBSET_READ, 99, 0, 0, 0));
    SHOW(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    SHOW(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    SHOW(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0));
    SHOW(prctl(12345, 0, 0, 0, 0));
    SHOW(setfsuid(-1));
    struct __user_cap_header_struct bad = {0x12345, 0};
    SHOW(syscall(SYS_capget, &bad, NULL));
    printf("version answered: %#x\n", bad.version);
    pid_t pid = fork();
    if (pid == 0) {
        unprivileged_steps();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    pid = fork();
    if (pid == 0) {  /* capabilities shrink by capset and the bounding set */
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2] = {{0}};
        d[0].permitted = d[0].effective = 1 << CAP_SETUID | 1 << CAP_SETPCAP;
        d[0].inheritable = 1 << CAP_SETUID;
        SHOW(syscall(SYS_capset, &h, d));
        caps("capset");
        d[0].permitted |= 1 << CAP_KILL;
        SHOW(syscall(SYS_capset, &h, d));
        SHOW(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SETUID, 0, 0));
        SHOW(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0));
        SHOW(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SETUID, 0, 0));
        SHOW(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0));
        SHOW(prctl(PR_CAPBSET_READ, CAP_KILL, 0, 0, 0));
        SHOW(setgid(77));
        SHOW(setuid(1234));
        ids("after setuid");
        caps("after setuid");
        SHOW(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        SHOW(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    return 0;
}
