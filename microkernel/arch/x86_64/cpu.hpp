// Thin wrappers over single x86-64 instructions. Nothing here has policy;
// each function is the instruction it names (Intel SDM Vol. 2).
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86 {

inline void outb(u16 port, u8 value) { asm volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
inline void outw(u16 port, u16 value) { asm volatile("outw %0, %1" : : "a"(value), "Nd"(port)); }
inline void outl(u16 port, u32 value) { asm volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
inline u8 inb(u16 port)
{
    u8 value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

inline u64 rdmsr(u32 msr)
{
    u32 low, high;
    asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return (static_cast<u64>(high) << 32) | low;
}
inline void wrmsr(u32 msr, u64 value)
{
    asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32)));
}

struct CpuidResult {
    u32 eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(u32 leaf, u32 subleaf = 0)
{
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline u64 rdtsc()
{
    u32 low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    return (static_cast<u64>(high) << 32) | low;
}

#define HERALD_CONTROL_REGISTER(n)                                               \
    inline u64 read_cr##n()                                                      \
    {                                                                            \
        u64 value;                                                               \
        asm volatile("mov %%cr" #n ", %0" : "=r"(value));                        \
        return value;                                                            \
    }                                                                            \
    inline void write_cr##n(u64 value) { asm volatile("mov %0, %%cr" #n : : "r"(value) : "memory"); }
HERALD_CONTROL_REGISTER(0)
HERALD_CONTROL_REGISTER(2)
HERALD_CONTROL_REGISTER(3)
HERALD_CONTROL_REGISTER(4)
#undef HERALD_CONTROL_REGISTER

inline u64 read_rflags()
{
    u64 value;
    asm volatile("pushfq; pop %0" : "=r"(value));
    return value;
}

// Drops this CPU's TLB entry for the page at `address` (SDM Vol. 2A, INVLPG).
inline void invalidate_page(u64 address) { asm volatile("invlpg (%0)" ::"r"(address) : "memory"); }

inline void halt() { asm volatile("hlt"); }
inline void disable_interrupts() { asm volatile("cli" ::: "memory"); }
inline void enable_interrupts() { asm volatile("sti" ::: "memory"); }
// STI takes effect after the next instruction, so "sti; hlt" cannot miss a
// wake-up interrupt between the two (SDM Vol. 2B, STI).
inline void enable_interrupts_and_halt() { asm volatile("sti; hlt" ::: "memory"); }
inline void pause() { asm volatile("pause"); }

[[noreturn]] inline void halt_forever()
{
    for (;;) {
        disable_interrupts();
        halt();
    }
}

struct [[gnu::packed]] DescriptorTablePointer {
    u16 limit;
    u64 base;
};

inline constexpr u64 kRflagsInterruptEnable = 1ull << 9;

// Control-register and MSR bits Herald sets (SDM Vol. 3A §2.5, §2.2.1).
inline constexpr u64 kCr0WriteProtect = 1ull << 16;
inline constexpr u64 kCr4Pge = 1ull << 7;
inline constexpr u64 kCr4Smep = 1ull << 20;
inline constexpr u64 kCr4Smap = 1ull << 21;
inline constexpr u32 kMsrEfer = 0xC0000080;
inline constexpr u64 kEferNxe = 1ull << 11;
inline constexpr u32 kMsrFsBase = 0xC0000100; // SDM Vol. 4, Table 2-2: IA32_FS_BASE
inline constexpr u32 kMsrGsBase = 0xC0000101;
inline constexpr u32 kMsrKernelGsBase = 0xC0000102;
inline constexpr u32 kMsrApicBase = 0x1B;

} // namespace herald::x86
