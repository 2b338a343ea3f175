/* Try to push a character into the terminal's input queue (TIOCSTI):
 * prints "refused <errno name>" or "injected". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int main(void)
{
    char c = 'X';
    if (ioctl(0, TIOCSTI, &c) < 0) {
        printf("refused %s\n", strerror(errno));
        return 0;
    }
    printf("injected\n");
    return 1;
}
