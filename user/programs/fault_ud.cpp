// fault_ud: executes UD2, the architecturally undefined instruction (#UD).
// Proves that an invalid-opcode exception in ring 3 ends the task and the
// kernel keeps running.
#include "user/runtime/syscall.hpp"

using namespace herald::user;

extern "C" int64_t herald_main(uint64_t)
{
    debug_write("fault_ud: executing ud2");
    asm volatile("ud2");
    // Only reached when the kernel let the instruction through.
    debug_write("fault_ud: survived, this is a kernel bug");
    return 1;
}
