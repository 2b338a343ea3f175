/* Run until killed: a workload for the fail-closed tests (argv marks it). */
#include <unistd.h>
int main(void) { for (;;) pause(); }
