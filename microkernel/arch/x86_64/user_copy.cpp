#include "user_copy.hpp"

#include "../../abi/syscalls.hpp"
#include "../../stats/event_counters.hpp"
#include "cpu.hpp"
#include "interrupt_frame.hpp"

extern "C" bool user_copy_bytes(void* destination, const void* source, herald::u64 length);
extern "C" const char user_copy_access[];
extern "C" const char user_copy_fixup[];

namespace herald::x86 {

namespace {

constexpr u64 kVectorGeneralProtection = 13;
constexpr u64 kVectorPageFault = 14;
bool g_smap;

// SMAP: user pages are off limits to ring 0 unless RFLAGS.AC is set.
class UserAccessWindow {
public:
    UserAccessWindow()
    {
        if (g_smap)
            asm volatile("stac" ::: "memory");
    }
    ~UserAccessWindow()
    {
        if (g_smap)
            asm volatile("clac" ::: "memory");
    }
};

} // namespace

void user_copy_init(bool smap) { g_smap = smap; }

bool is_user_range(u64 address, u64 length)
{
    return address >= abi::kUserCodeBase && address <= abi::kUserSpaceEnd
        && length <= abi::kUserSpaceEnd - address;
}

bool copy_from_user(void* kernel_destination, u64 user_source, u64 length)
{
    if (!is_user_range(user_source, length))
        return false;
    UserAccessWindow window;
    if (!user_copy_bytes(kernel_destination, reinterpret_cast<const void*>(user_source), length))
        return false;
    count<Event::BytesCopied>(length);
    return true;
}

bool copy_to_user(u64 user_destination, const void* kernel_source, u64 length)
{
    if (!is_user_range(user_destination, length))
        return false;
    UserAccessWindow window;
    if (!user_copy_bytes(reinterpret_cast<void*>(user_destination), kernel_source, length))
        return false;
    count<Event::BytesCopied>(length);
    return true;
}

bool recover_from_user_copy_fault(InterruptFrame& frame)
{
    // Only the copying instruction itself, and only on an address in the
    // user range: a kernel pointer that faults is a kernel bug to report.
    if (frame.rip != reinterpret_cast<u64>(user_copy_access))
        return false;
    if (frame.vector == kVectorPageFault && !is_user_range(read_cr2(), 1))
        return false;
    if (frame.vector != kVectorPageFault && frame.vector != kVectorGeneralProtection)
        return false;
    frame.rip = reinterpret_cast<u64>(user_copy_fixup);
    return true;
}

} // namespace herald::x86
