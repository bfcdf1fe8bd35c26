// System calls from ring 3, following microkernel/abi/syscalls.hpp exactly:
// RAX = number, arguments in RDI, RSI, RDX, R10 (R8, R9 are not needed by any
// call yet), result in RAX; SYSCALL clobbers RCX and R11, and the kernel
// preserves every other register. "memory" is clobbered because the kernel
// reads and writes user buffers behind the compiler's back.
//
// Freestanding: only <stdint.h>, <stddef.h> and the ABI header.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "microkernel/abi/syscalls.hpp"

namespace herald::user {

using abi::SelfInfo;
using abi::SyscallError;
using abi::SyscallNumber;

// The raw stubs take the number as a plain integer, so that tests can make
// calls that do not exist.
inline int64_t syscall0(uint64_t number)
{
    int64_t result;
    asm volatile("syscall" : "=a"(result) : "a"(number) : "rcx", "r11", "memory");
    return result;
}

inline int64_t syscall1(uint64_t number, uint64_t a1)
{
    int64_t result;
    asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a1) : "rcx", "r11", "memory");
    return result;
}

inline int64_t syscall2(uint64_t number, uint64_t a1, uint64_t a2)
{
    int64_t result;
    asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a1), "S"(a2) : "rcx", "r11", "memory");
    return result;
}

inline int64_t syscall3(uint64_t number, uint64_t a1, uint64_t a2, uint64_t a3)
{
    int64_t result;
    asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a1), "S"(a2), "d"(a3) : "rcx", "r11", "memory");
    return result;
}

inline int64_t syscall4(uint64_t number, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    int64_t result;
    register uint64_t r10 asm("r10") = a4; // the fourth argument: RCX is taken by SYSCALL
    asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10) : "rcx", "r11", "memory");
    return result;
}

inline int64_t syscall5(uint64_t number, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    int64_t result;
    register uint64_t r10 asm("r10") = a4;
    register uint64_t r8 asm("r8") = a5;
    asm volatile("syscall"
                 : "=a"(result)
                 : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
                 : "rcx", "r11", "memory");
    return result;
}

inline constexpr uint64_t number_of(SyscallNumber number) { return static_cast<uint64_t>(number); }

// Writes `length` bytes to the kernel log as one line; returns the length
// written or a negative SyscallError.
inline int64_t debug_write(const char* text, size_t length)
{
    return syscall2(number_of(SyscallNumber::DebugWrite), reinterpret_cast<uint64_t>(text), length);
}

// The same for a NUL-terminated string.
inline int64_t debug_write(const char* text)
{
    size_t length = 0;
    while (text[length] != '\0')
        ++length;
    return debug_write(text, length);
}

inline int64_t yield() { return syscall0(number_of(SyscallNumber::Yield)); }

inline int64_t sleep_ms(uint64_t milliseconds) { return syscall1(number_of(SyscallNumber::Sleep), milliseconds); }

[[noreturn]] inline void exit(int64_t status)
{
    syscall1(number_of(SyscallNumber::Exit), static_cast<uint64_t>(status));
    __builtin_trap(); // Exit does not return; if it did, fault rather than run on
}

inline int64_t self_info(SelfInfo* out)
{
    return syscall1(number_of(SyscallNumber::SelfInfo), reinterpret_cast<uint64_t>(out));
}

} // namespace herald::user
