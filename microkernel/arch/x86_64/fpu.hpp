// FPU/SSE/AVX state of user threads (SDM Vol. 1 Chapter 13).
//
// The kernel itself never touches these registers (it is compiled with
// -mgeneral-regs-only), so only user threads have an FPU state, saved and
// restored eagerly at every switch between threads: XSAVE/XRSTOR for every
// component the CPU has (x87, SSE, AVX, ...) when it has XSAVE, FXSAVE and
// FXRSTOR otherwise. The seed's "AVX/SSE and context switching" covers why.
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86::fpu {

// Per CPU: enables SSE and XSAVE in CR0/CR4/XCR0. The first call (boot CPU)
// also records the area size and a clean initial state.
void init_this_cpu();

// Bytes of one thread's save area (at most 4 KiB; 64-byte aligned).
usize state_size();
const char* mechanism(); // "XSAVE" or "FXSAVE"

void init_state(u8* area); // a clean state, as after FNINIT with default MXCSR
// Set once by the boot CPU's init_this_cpu(), before any thread runs.
extern bool g_xsave; // XSAVE/XRSTOR (else FXSAVE/FXRSTOR)
extern u64 g_xcr0;   // the components saved: all XCR0 enables

// Inline: the scheduler saves and restores at every switch between threads.
inline void save(u8* area)
{
    if (g_xsave)
        asm volatile("xsave64 (%0)" : : "r"(area), "a"(static_cast<u32>(g_xcr0)), "d"(static_cast<u32>(g_xcr0 >> 32)) : "memory");
    else
        asm volatile("fxsave64 (%0)" : : "r"(area) : "memory");
}

inline void restore(const u8* area)
{
    if (g_xsave)
        asm volatile("xrstor64 (%0)" : : "r"(area), "a"(static_cast<u32>(g_xcr0)), "d"(static_cast<u32>(g_xcr0 >> 32)) : "memory");
    else
        asm volatile("fxrstor64 (%0)" : : "r"(area) : "memory");
}

} // namespace herald::x86::fpu
