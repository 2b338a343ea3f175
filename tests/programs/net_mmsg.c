#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
int main(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    bind(a, (void *)&sa, sizeof sa);
    socklen_t l = sizeof sa; getsockname(a, (void *)&sa, &l);
    struct mmsghdr m[3]; struct iovec v[3]; char *msgs[3] = {"one", "two", "three"};
    memset(m, 0, sizeof m);
    for (int i = 0; i < 3; i++) { v[i].iov_base = msgs[i]; v[i].iov_len = strlen(msgs[i]);
        m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1; m[i].msg_hdr.msg_name = &sa; m[i].msg_hdr.msg_namelen = sizeof sa; }
    printf("sent %d\n", sendmmsg(b, m, 3, 0));
    char buf[3][16]; struct sockaddr_in from[3]; memset(m, 0, sizeof m);
    for (int i = 0; i < 3; i++) { v[i].iov_base = buf[i]; v[i].iov_len = 16; m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1;
        m[i].msg_hdr.msg_name = &from[i]; m[i].msg_hdr.msg_namelen = sizeof from[i]; }
    int n = recvmmsg(a, m, 3, 0, NULL);
    printf("received %d:", n);
    for (int i = 0; i < n; i++) printf(" %.*s(%s)", m[i].msg_len, buf[i], inet_ntoa(from[i].sin_addr));
    printf("\n");
    return 0;
}
