/* System V semaphores: semop and semtimedop, a wait another process ends, a
 * timeout, IPC_NOWAIT, and what semctl reports. Each line is a call and its
 * result or errno name; run natively (in an IPC namespace of its own) and
 * sandboxed, the outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long rc)
{
    if (rc < 0)
        printf("%s: %s\n", what, errno == EAGAIN ? "EAGAIN" : errno == EINTR ? "EINTR"
               : errno == EINVAL ? "EINVAL" : errno == EIDRM ? "EIDRM" : strerror(errno));
    else
        printf("%s: %ld\n", what, rc);
}

int main(void)
{
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    show("semget", id < 0 ? -1 : 0);
    show("setval", semctl(id, 0, SETVAL, 1));
    struct sembuf down = {0, -1, 0}, up = {0, 1, 0}, nowait = {0, -1, IPC_NOWAIT};
    show("semop down", semop(id, &down, 1));
    show("semop nowait", semop(id, &nowait, 1));
    struct timespec short_wait = {0, 50 * 1000 * 1000};
    show("semtimedop times out", semtimedop(id, &down, 1, &short_wait));
    pid_t child = fork();
    if (child == 0) {
        usleep(100 * 1000);
        semop(id, &up, 1);
        _exit(0);
    }
    struct timespec long_wait = {10, 0};
    show("semtimedop woken", semtimedop(id, &down, 1, &long_wait));
    waitpid(child, NULL, 0);
    struct sembuf both[2] = {{0, 2, 0}, {1, 3, 0}};
    show("semtimedop two", semtimedop(id, both, 2, NULL));
    show("getval 0", semctl(id, 0, GETVAL));
    show("getval 1", semctl(id, 1, GETVAL));
    struct timespec bad = {0, 2000 * 1000 * 1000L};
    show("semtimedop bad timeout", semtimedop(id, &down, 1, &bad));
    show("rmid", semctl(id, 0, IPC_RMID));
    show("semop removed", semop(id, &up, 1));
    return 0;
}
