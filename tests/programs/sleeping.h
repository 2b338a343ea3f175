/* wait_sleeping(pid): wait until `pid` sleeps (its state in /proc/PID/stat
 * is S), the way a test program knows another process is in a call that
 * waits, without counting on time. (Included by the programs that need it:
 * each is compiled alone, from its own directory.) */
#ifndef SLEEPING_H
#define SLEEPING_H

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

static void wait_sleeping(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    for (;;) {
        FILE *f = fopen(path, "r");
        if (!f)
            return;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *state = strrchr(buf, ')');
        if (state && state[1] == ' ' && state[2] == 'S')
            return;
        sched_yield();
    }
}

#endif
