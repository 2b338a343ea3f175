/* icmp_echo dgram|raw: one ICMP echo to 127.0.0.1 through a ping socket
 * (SOCK_DGRAM, IPPROTO_ICMP) or a raw one; prints "reply" or the errno of
 * the step that failed ("socket: EACCES"). Static, for a busybox rootfs. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *step)
{
    const char *name = errno == EPERM ? "EPERM" : errno == EACCES ? "EACCES" : "other";
    printf("%s: %s (%d)\n", step, name, errno);
    return 1;
}

int main(int argc, char **argv)
{
    int raw = argc > 1 && !strcmp(argv[1], "raw");
    int s = socket(AF_INET, raw ? SOCK_RAW : SOCK_DGRAM, IPPROTO_ICMP);
    if (s < 0)
        return fail("socket");
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct icmphdr echo = {.type = ICMP_ECHO, .un.echo.id = htons(0x5eed), .un.echo.sequence = htons(1)};
    if (raw) {   /* the kernel checksums a ping socket's; a raw one's is ours */
        unsigned sum = 0;
        unsigned short *w = (unsigned short *)&echo;
        for (size_t i = 0; i < sizeof echo / 2; i++)
            sum += w[i];
        sum = (sum >> 16) + (sum & 0xffff);
        echo.checksum = ~(sum + (sum >> 16));
    }
    if (sendto(s, &echo, sizeof echo, 0, (struct sockaddr *)&to, sizeof to) < 0)
        return fail("sendto");
    for (int tries = 0; tries < 4; tries++) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
            return fail("poll");
        unsigned char buf[256];
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n < 0)
            return fail("recv");
        size_t at = raw ? (size_t)(buf[0] & 0xf) * 4 : 0;   /* a raw socket sees the IP header */
        if ((size_t)n > at && buf[at] == ICMP_ECHOREPLY) {
            printf("reply\n");
            return 0;
        }
    }
    printf("no reply\n");
    return 1;
}
