/* sendmmsg on a blocking TCP socket whose peer reads slowly: Linux waits for
 * room for every message (4 x 1 MiB, far past the socket buffers). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define SIZE (1 << 20)

int main(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    bind(l, (void *)&sa, sizeof sa);
    listen(l, 1);
    socklen_t len = sizeof sa; getsockname(l, (void *)&sa, &len);
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        connect(c, (void *)&sa, sizeof sa);
        static char buf[65536];
        long total = 0; ssize_t n;
        usleep(200000);
        while ((n = read(c, buf, sizeof buf)) > 0) total += n;
        printf("reader got %ld\n", total);
        fflush(stdout);
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    char *data = calloc(4, SIZE);
    struct mmsghdr m[4]; struct iovec v[4];
    memset(m, 0, sizeof m);
    for (int i = 0; i < 4; i++) {
        v[i].iov_base = data + i * SIZE; v[i].iov_len = SIZE;
        m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(s, m, 4, 0);
    printf("sendmmsg = %d:", n);
    for (int i = 0; i < n; i++) printf(" %u", m[i].msg_len);
    printf("\n");
    fflush(stdout);
    close(s);
    waitpid(child, NULL, 0);
    return 0;
}
