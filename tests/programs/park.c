/* Two threads: one makes syscall 1000 (the test's sentry parks it), the
 * other, 200 ms later, makes syscall 1001 (which releases it). Prints both
 * results; if the sentry's loop blocked on the parked call, this hangs. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *parked(void *arg)
{
    (void)arg;
    long r = syscall(1000);
    printf("parked=%ld\n", r);
    fflush(stdout);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, parked, NULL);
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    printf("getppid=%ld\n", syscall(SYS_getppid));
    printf("released=%ld\n", syscall(1001));
    fflush(stdout);
    pthread_join(t, NULL);
    return 0;
}
