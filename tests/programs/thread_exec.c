/* A non-leader thread execs: the kernel gives it the leader's tid and ends
 * the other threads; the sentry must follow (re-key the task, keep pid 1). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *run(void *arg)
{
    (void)arg;
    execl("/bin/sh", "sh", "-c", "echo exec from a thread, pid $$", (char *)NULL);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, run, NULL);
    sleep(10);
    puts("not reached");
    return 1;
}
