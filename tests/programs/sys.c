/* sys NR [ARG...]: make one raw syscall, print "ret=R errno=E".
 * Arguments are integers (0x... allowed), or "buf" for a pointer to a
 * 4 KiB scratch buffer, or "str:TEXT" for a pointer to TEXT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char scratch[4096];

static long arg(const char *s)
{
    if (!strcmp(s, "buf"))
        return (long)scratch;
    if (!strncmp(s, "str:", 4))
        return (long)(s + 4);
    return strtol(s, NULL, 0);
}

int main(int argc, char **argv)
{
    long a[6] = {0};
    for (int i = 2; i < argc && i < 8; i++)
        a[i - 2] = arg(argv[i]);
    errno = 0;
    long ret = syscall(strtol(argv[1], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
    printf("ret=%ld errno=%d\n", ret, ret < 0 ? errno : 0);
    return 0;
}
