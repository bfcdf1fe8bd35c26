// fault_kernel_read: reads the kernel image at 0x100000. The page is
// mapped, but supervisor-only, so the CPU raises #PF with the protection bit
// set (present, read, user). Proves that the kernel's memory is not readable
// from ring 3 and that such a fault ends the task.
#include "user/runtime/syscall.hpp"

using namespace herald::user;

extern "C" int64_t herald_main(uint64_t)
{
    debug_write("fault_kernel_read: reading kernel memory at 0x100000");
    uint64_t stolen = *reinterpret_cast<volatile const uint64_t*>(0x100000);
    asm volatile("" : : "r"(stolen));
    // Only reached when the kernel let the instruction through.
    debug_write("fault_kernel_read: survived, this is a kernel bug");
    return 1;
}
