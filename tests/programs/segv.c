/* Dies of SIGSEGV: a NULL dereference. */
int main(void)
{
    volatile int *p = 0;
    return *p;
}
