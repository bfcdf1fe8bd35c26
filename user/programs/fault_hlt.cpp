// fault_hlt: executes HLT, which is privileged outside ring 0 (#GP(0)).
// Proves that user code cannot stop a CPU, and that the #GP ends the task.
#include "user/runtime/syscall.hpp"

using namespace herald::user;

extern "C" int64_t herald_main(uint64_t)
{
    debug_write("fault_hlt: executing hlt in ring 3");
    asm volatile("hlt");
    // Only reached when the kernel let the instruction through.
    debug_write("fault_hlt: survived, this is a kernel bug");
    return 1;
}
