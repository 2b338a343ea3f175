/* notify_floor POLL PTRACE CPU_WORKLOAD CPU_SUPERVISOR SYNC: the floor.
 *
 * What one getppid answered by a seccomp user-notify supervisor written in
 * C costs on this machine: no Python, no sentry. POLL waits in poll()
 * before NOTIF_RECV (as runsc-py's loop does on the ptrace platform; on
 * the seccomp platform it sleeps in NOTIF_RECV, POLL=0); PTRACE seizes the child as
 * runsc-py does; SYNC sets SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP. Prints one
 * JSON line. bench/run.py reports it next to runsc-py's fast path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define SET_FLAGS SECCOMP_IOW(4, __u64)
static void pin(int c){ cpu_set_t s; CPU_ZERO(&s); CPU_SET(c,&s); sched_setaffinity(0,sizeof s,&s);}
int main(int argc, char **argv){
  int use_poll = atoi(argv[1]), use_ptrace = atoi(argv[2]), cpu_w = atoi(argv[3]), cpu_s = atoi(argv[4]), sync = atoi(argv[5]);
  int sv[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pid_t pid = fork();
  if (!pid) {
    pin(cpu_w); char c; read(sv[1], &c, 1);
    prctl(PR_SET_NO_NEW_PRIVS,1,0,0,0);
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SYS_getppid, 0);
    seccomp_load(ctx); int fd = seccomp_notify_fd(ctx);
    write(sv[1], &fd, sizeof fd);
    read(sv[1], &c, 1);
    struct timespec a,b; int n=100000; clock_gettime(CLOCK_MONOTONIC,&a);
    for (int i=0;i<n;i++) syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC,&b);
    printf("{\"name\": \"notify_floor\", \"poll\": %d, \"ptrace\": %d, \"same_cpu\": %d, \"ns_per_op\": %.1f}\n",
           use_poll, use_ptrace, cpu_w == cpu_s, ((b.tv_sec-a.tv_sec)*1e9+(b.tv_nsec-a.tv_nsec))/n);
    fflush(stdout); _exit(0);
  }
  pin(cpu_s);
  if (use_ptrace) ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESECCOMP|PTRACE_O_EXITKILL);
  write(sv[0], "g", 1); int cfd; read(sv[0], &cfd, sizeof cfd);
  int pfd = syscall(434, pid, 0); int fd = syscall(438, pfd, cfd, 0);
  if (sync) ioctl(fd, SET_FLAGS, 1UL);
  write(sv[0], "g", 1);
  struct seccomp_notif req; struct seccomp_notif_resp resp;
  for (;;) {
    if (use_poll) { struct pollfd p = {fd, POLLIN}; if (poll(&p,1,-1) < 0) continue; if (p.revents & (POLLHUP)) break; }
    memset(&req,0,sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) break;
    resp.id = req.id; resp.val = 42; resp.error = 0; resp.flags = 0;
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
  int st; waitpid(pid, &st, __WALL);
}
