// fault_pf: writes to 0x1000, below the program and never mapped (#PF, not
// present, write, user). Proves that a user page fault on an unmapped address
// ends the task instead of being "fixed" by the kernel, and that the kill
// line names the function and its callers (from fault_pf.sym in the boot
// archive): the write happens two calls deep, in store_at().
#include "user/runtime/syscall.hpp"

using namespace herald::user;

namespace {

constexpr uint64_t kUnmapped = 0x1000;

[[gnu::noinline]] void store_at(uint64_t address, uint64_t value)
{
    *reinterpret_cast<volatile uint64_t*>(address) = value;
}

[[gnu::noinline]] void write_below_the_program() { store_at(kUnmapped, 0x4845524c44); } // "HERLD"

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    debug_write("fault_pf: writing to unmapped 0x1000");
    write_below_the_program();
    // Only reached when the kernel let the instruction through.
    debug_write("fault_pf: survived, this is a kernel bug");
    return 1;
}
