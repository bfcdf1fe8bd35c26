// storm_child: one program of spawn_storm in workloads.c (issue 11: "200
// programs, each grows 1 MiB of heap, touches it, prints 10 lines, exits").
// It moves its break up by 1 MiB (brk), stores to each 4 KiB page of it,
// writes 10 lines of the shape of Herald's chatter,
//   storm NNN line K <48 letters> end
// to its stdout (the serial console), one write each, and exits with 0
// (1 if the heap cannot grow, 2 if a write fails). The argument is its
// number. No C library, like exit0: raw system calls only.
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

enum { kHeapBytes = 1 << 20, kPageSize = 4096, kLines = 10, kLetters = 48 };

static long syscall1(long number, long a)
{
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a) : "rcx", "r11", "memory");
    return result;
}

static long syscall3(long number, long a, long b, long c)
{
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return result;
}

static __attribute__((noreturn)) void exit_with(int status)
{
    syscall1(SYS_exit_group, status);
    __builtin_unreachable();
}

static unsigned parse_number(const char* text)
{
    unsigned value = 0;
    for (; text && *text >= '0' && *text <= '9'; ++text)
        value = value * 10 + (unsigned)(*text - '0');
    return value;
}

static char* put_text(char* out, const char* text)
{
    while (*text)
        *out++ = *text++;
    return out;
}

static char* put_digits(char* out, unsigned value, int width)
{
    for (int i = width - 1; i >= 0; --i) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

__attribute__((noreturn, used)) void storm_main(long* stack)
{
    long argc = stack[0];
    char** argv = (char**)(stack + 1);
    unsigned number = parse_number(argc > 1 ? argv[1] : "0");

    uintptr_t start = (uintptr_t)syscall1(SYS_brk, 0);
    uintptr_t end = (uintptr_t)syscall1(SYS_brk, (long)(start + kHeapBytes));
    if (end < start + kHeapBytes)
        exit_with(1);
    for (uintptr_t page = start; page < start + kHeapBytes; page += kPageSize)
        *(volatile uint8_t*)page = 1;

    for (int line = 0; line < kLines; ++line) {
        char text[96];
        char* out = put_text(text, "storm ");
        out = put_digits(out, number % 1000, 3);
        out = put_text(out, " line ");
        out = put_digits(out, (unsigned)line, 1);
        *out++ = ' ';
        for (int i = 0; i < kLetters; ++i)
            *out++ = (char)('a' + (number * 7 + (unsigned)line * 3 + (unsigned)i) % 26);
        out = put_text(out, " end\n");
        if (syscall3(SYS_write, 1, (long)text, out - text) != out - text)
            exit_with(2);
    }
    exit_with(0);
}

// The kernel starts a program with argc, argv... on the stack and no return
// address: hand the stack to storm_main, aligned as the ABI wants.
__asm__(".globl _start\n"
        "_start:\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call storm_main\n"
        "    ud2\n");
