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
void save(u8* area);
void restore(const u8* area);

} // namespace herald::x86::fpu
