/* The ids a System V object's IPC_STAT (and SEM_STAT, SHM_STAT) reports:
 * its creator's and owner's, as the creator and IPC_SET made them. Run
 * as root natively (in an IPC namespace of its own) and sandboxed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static void perm(const char *what, const struct ipc_perm *p)
{
    printf("%s: uid %u gid %u cuid %u cgid %u mode %o\n", what, p->uid, p->gid, p->cuid, p->cgid,
           p->mode & 0777);
}

static void objects(const char *who)
{
    char label[64];
    int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0640);
    struct shmid_ds sds;
    shmctl(shm, IPC_STAT, &sds);
    snprintf(label, sizeof label, "%s shm", who);
    perm(label, &sds.shm_perm);
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    struct semid_ds semds;
    semctl(sem, 0, IPC_STAT, &semds);
    snprintf(label, sizeof label, "%s sem", who);
    perm(label, &semds.sem_perm);
    int msg = msgget(IPC_PRIVATE, IPC_CREAT | 0604);
    struct msqid_ds mds;
    msgctl(msg, IPC_STAT, &mds);
    snprintf(label, sizeof label, "%s msg", who);
    perm(label, &mds.msg_perm);
    mds.msg_perm.uid = 7;
    mds.msg_perm.gid = 8;
    msgctl(msg, IPC_SET, &mds);
    msgctl(msg, IPC_STAT, &mds);
    snprintf(label, sizeof label, "%s msg after IPC_SET", who);
    perm(label, &mds.msg_perm);
    shmctl(shm, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    objects("root");
    pid_t child = fork();
    if (child == 0) {
        if (setgid(1000) < 0 || setuid(1000) < 0)
            _exit(3);
        objects("uid 1000");
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}
