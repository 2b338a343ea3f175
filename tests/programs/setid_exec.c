/* Set-id bits on exec: `setid_exec DIR` (as root) copies itself into DIR,
 * makes copies set-uid/set-gid with several owners, and execs each from
 * children that first become someone else. Each child prints what the new
 * image sees: its ids, its capability sets and AT_SECURE. Run natively and
 * sandboxed on a mount without nosuid, the lines must match; on a nosuid
 * mount the ids must not change. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *label)
{
    uid_t r, e, s; gid_t rg, eg, sg;
    getresuid(&r, &e, &s); getresgid(&rg, &eg, &sg);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    printf("%s: uid %u/%u/%u gid %u/%u/%u eff %s prm %s secure %lu\n", label, r, e, s, rg, eg, sg,
           d[0].effective || d[1].effective ? "some" : "none",
           d[0].permitted || d[1].permitted ? "some" : "none", getauxval(AT_SECURE));
    fflush(stdout);
}

static void copy_self(const char *to, uid_t owner, gid_t group, mode_t mode)
{
    int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    char buf[65536];
    ssize_t n;
    if (in < 0 || out < 0) { perror("copy"); exit(2); }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) { perror("write"); exit(2); }
    close(in);
    close(out);
    if (chown(to, owner, group) || chmod(to, mode)) { perror("chown/chmod"); exit(2); }
}

/* Run `prog show LABEL` in a child with the given real/effective/saved ids. */
static void run_as(const char *prog, const char *label, uid_t uid, gid_t gid, int no_new_privs)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) { perror("setres*id"); _exit(2); }
        if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("prctl"); _exit(2); }
        execl(prog, prog, "show", label, (char *)NULL);
        printf("%s: exec: %s\n", label, strerrorname_np(errno));
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "show") == 0) {
        show(argv[2]);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: setid_exec DIR\n");
        return 2;
    }
    if (mkdir(argv[1], 0755) && errno != EEXIST) { perror("mkdir"); return 2; }
    chmod(argv[1], 0755);
    char root_suid[4096], user_suid[4096], sgid_only[4096], sgid_no_x[4096];
    snprintf(root_suid, sizeof root_suid, "%s/root-suid", argv[1]);
    snprintf(user_suid, sizeof user_suid, "%s/user-suid", argv[1]);
    snprintf(sgid_only, sizeof sgid_only, "%s/sgid", argv[1]);
    snprintf(sgid_no_x, sizeof sgid_no_x, "%s/sgid-no-gx", argv[1]);
    copy_self(root_suid, 0, 0, 04755);
    copy_self(user_suid, 1234, 1234, 06755);
    copy_self(sgid_only, 0, 4321, 02755);
    copy_self(sgid_no_x, 0, 4321, 02745);   /* set-gid without group execute: not set-gid */
    run_as(root_suid, "user runs root's suid", 1000, 1000, 0);
    run_as(root_suid, "user runs it with no_new_privs", 1000, 1000, 1);
    run_as(user_suid, "root runs 1234's suid+sgid", 0, 0, 0);
    run_as(user_suid, "user runs 1234's suid+sgid", 1000, 1000, 0);
    run_as(sgid_only, "user runs a sgid", 1000, 1000, 0);
    run_as(sgid_no_x, "user runs sgid without g+x", 1000, 1000, 0);
    run_as(root_suid, "root runs root's suid", 0, 0, 0);
    return 0;
}
