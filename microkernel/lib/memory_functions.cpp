// memcpy, memmove, memset and memcmp: the C functions a compiler may emit
// calls to (struct copies, zeroing), for code without a C library. One
// definition, compiled into the kernel and into every ring-3 program
// (cmake/HeraldUser.cmake), so that ring 0 and ring 3 copy and zero the
// same way: a server moved into the kernel costs what it cost in ring 3.
//
// The choice (docs/benchmarks.md, "How QEMU counts"): copies and fills move
// 8-byte words with REP MOVSQ / REP STOSQ, then the last 0-7 bytes with
// REP MOVSB / REP STOSB. Why:
//   - the kernel may not use SSE (-mgeneral-regs-only), so the 16-byte
//     vector loops the compiler makes of a plain loop in ring 3 are not an
//     option in ring 0; a plain loop in ring 0 became 8 byte stores per
//     iteration (11 instructions per 8 bytes, 5,632 for a page);
//   - on hardware, REP MOVS/STOS with fast-string microcode is as fast as
//     any loop for a page (Intel Optimization Reference Manual, "Enhanced
//     REP MOVSB and STOSB operation"; Linux zeroes pages with REP STOSQ or
//     STOSB too);
//   - under QEMU's instruction counting each iteration of a REP instruction
//     counts as one instruction: a 4 KiB page is 512 + 1 counted
//     instructions to zero or copy, wherever it happens.
// Built with -fno-builtin, so nothing here is turned back into a call to itself.
#include <stddef.h>
#include <stdint.h>

extern "C" {

void* memcpy(void* destination, const void* source, size_t count)
{
    void* d = destination;
    const void* s = source;
    size_t words = count / 8;
    size_t bytes = count % 8;
    asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(words) : : "memory");
    asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(bytes) : : "memory");
    return destination;
}

void* memmove(void* destination, const void* source, size_t count)
{
    auto* d = static_cast<unsigned char*>(destination);
    auto* s = static_cast<const unsigned char*>(source);
    // Forward is safe unless the destination starts inside the source.
    if (d <= s || d >= s + count)
        return memcpy(destination, source, count);
    // Backward, a byte at a time (DF set for the one instruction: an
    // interrupt in between saves and restores RFLAGS, and every kernel
    // entry clears DF for itself).
    unsigned char* d_last = d + count - 1;
    const unsigned char* s_last = s + count - 1;
    asm volatile("std\n\trep movsb\n\tcld" : "+D"(d_last), "+S"(s_last), "+c"(count) : : "memory", "cc");
    return destination;
}

void* memset(void* destination, int value, size_t count)
{
    void* d = destination;
    uint64_t pattern = 0x0101'0101'0101'0101ull * static_cast<unsigned char>(value);
    size_t words = count / 8;
    size_t bytes = count % 8;
    asm volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
    asm volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(pattern) : "memory");
    return destination;
}

int memcmp(const void* a, const void* b, size_t count)
{
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < count; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

} // extern "C"
