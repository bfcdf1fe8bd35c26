// exit0: the smallest static Linux program, for spawn_to_exit in workloads.c
// (Herald's counterpart: user/programs/exit_at_once.cpp). No C library: its
// entry point makes the exit_group system call with status 0, so that
// fork+exec+wait measures the kernel, not a libc's start-up. Built with
// -static -nostdlib by linux-reference.sh.
#include <sys/syscall.h>

__attribute__((naked, noreturn)) void _start(void)
{
    __asm__ volatile("mov %0, %%eax\n\t"
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2" : : "i"(SYS_exit_group));
}
