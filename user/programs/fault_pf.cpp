// fault_pf: writes to 0x1000, below the program and never mapped (#PF, not
// present, write, user). Proves that a user page fault on an unmapped address
// ends the task instead of being "fixed" by the kernel.
#include "user/runtime/syscall.hpp"

using namespace herald::user;

extern "C" int64_t herald_main(uint64_t)
{
    debug_write("fault_pf: writing to unmapped 0x1000");
    *reinterpret_cast<volatile uint64_t*>(0x1000) = 0x4845524c44; // "HERLD"
    // Only reached when the kernel let the instruction through.
    debug_write("fault_pf: survived, this is a kernel bug");
    return 1;
}
