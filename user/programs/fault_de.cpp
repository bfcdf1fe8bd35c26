// fault_de: divides by zero with DIV (#DE). The division is inline assembly
// so the compiler cannot fold it or treat it as undefined behaviour. Proves
// that a divide error in ring 3 ends the task, not the kernel.
#include "user/runtime/syscall.hpp"

using namespace herald::user;

extern "C" int64_t herald_main(uint64_t)
{
    debug_write("fault_de: dividing by zero");
    uint64_t dividend = 1;
    uint64_t divisor = 0;
    asm volatile("xor %%edx, %%edx\n\tdivq %[divisor]" : "+a"(dividend) : [divisor] "r"(divisor) : "rdx", "cc");
    // Only reached when the kernel let the instruction through.
    debug_write("fault_de: survived, this is a kernel bug");
    return 1;
}
