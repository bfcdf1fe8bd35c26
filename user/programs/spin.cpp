// spin: computes forever and never makes a system call, so the only way the
// CPU gets back to the kernel is the timer interrupt. Proves preemption of
// ring-3 code: while spin runs, other threads on the same CPU still progress.
#include "user/runtime/syscall.hpp"

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t value = parameter | 1;
    for (;;) {
        // A 64-bit LCG step; the empty asm makes the value "used", so the
        // compiler can neither drop the loop nor prove it has no effect.
        value = value * 6364136223846793005ull + 1442695040888963407ull;
        asm volatile("" : "+r"(value));
    }
}
