// fault_gp: executes CLI in ring 3. With IOPL 0, CLI is privileged there
// (SDM Vol. 2A "CLI"), so the CPU raises #GP(0). Proves that the kernel
// runs user code with IOPL 0 and turns a user #GP into the end of the task,
// not a kernel panic.
#include "user/runtime/syscall.hpp"

using namespace herald::user;

extern "C" int64_t herald_main(uint64_t)
{
    debug_write("fault_gp: executing cli in ring 3");
    asm volatile("cli");
    // Only reached when the kernel let the instruction through.
    debug_write("fault_gp: survived, this is a kernel bug");
    return 1;
}
