/* recvmmsg's blocking and timeout rules, as Linux has them (recvmmsg(2), BUGS):
 * a blocking call waits for every one of vlen messages; the timeout is
 * checked only after each message arrives, and what is left of it is
 * written back; MSG_WAITFORONE stops waiting after the first. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

static int receive(int s, unsigned vlen, int flags, struct timespec *timeout) {
    struct mmsghdr m[8]; struct iovec v[8]; char buf[8][16]; struct sockaddr_in from[8];
    memset(m, 0, sizeof m);
    for (unsigned i = 0; i < vlen; i++) {
        v[i].iov_base = buf[i]; v[i].iov_len = sizeof buf[i];
        m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1;
        m[i].msg_hdr.msg_name = &from[i]; m[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(s, m, vlen, flags, timeout);
    printf("recvmmsg(vlen=%u) = %d:", vlen, n);
    for (int i = 0; i < n; i++) printf(" %.*s", (int)m[i].msg_len, buf[i]);
    if (timeout) printf(" (timeout left %s)", timeout->tv_sec == 0 && timeout->tv_nsec == 0 ? "0" : "some");
    printf("\n");
    fflush(stdout);
    return n;
}

int main(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    bind(a, (void *)&sa, sizeof sa);
    socklen_t l = sizeof sa; getsockname(a, (void *)&sa, &l);
    int sync[2]; pipe(sync);
    pid_t child = fork();
    if (child == 0) {   /* one, a pause, two, a pause, three and four, a pause, five */
        int b = socket(AF_INET, SOCK_DGRAM, 0);
        const char *words[] = {"one", "two", "three", "four", "five"};
        int pause_after[] = {1, 1, 0, 1, 0};
        for (int i = 0; i < 5; i++) {
            sendto(b, words[i], strlen(words[i]), 0, (void *)&sa, sizeof sa);
            if (i == 0) { char c = 'x'; write(sync[1], &c, 1); }
            if (pause_after[i]) usleep(400000);
        }
        _exit(0);
    }
    char c; read(sync[0], &c, 1);   /* "one" is queued */
    /* the timeout expires while waiting for "two": still waits for it, then stops */
    struct timespec t = {0, 100000000};
    receive(a, 3, 0, &t);
    /* no timeout: waits for both */
    receive(a, 2, 0, NULL);
    /* MSG_WAITFORONE: waits for "five" only */
    receive(a, 4, MSG_WAITFORONE, NULL);
    /* a long timeout, non-blocking: what is there (nothing) */
    struct timespec long_t = {5, 0};
    int n = recvmmsg(a, (struct mmsghdr[1]){0}, 1, MSG_DONTWAIT, &long_t);
    printf("empty, MSG_DONTWAIT: %d %s\n", n, n < 0 ? strerror(errno) : "");
    waitpid(child, NULL, 0);
    return 0;
}
