#include "user_copy.hpp"

#include "../../abi/syscalls.hpp"
#include "../../stats/event_counters.hpp"
#include "cpu.hpp"
#include "interrupt_frame.hpp"

extern "C" bool user_copy_bytes(void* destination, const void* source, herald::u64 length);
extern "C" const char user_copy_access[];
extern "C" const char user_copy_fixup[];
extern "C" bool user_store_u64(herald::u64* destination, herald::u64 value);
extern "C" const char user_store_access[];
extern "C" const char user_store_fixup[];

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

bool store_to_user(u64 user_destination, u64 value)
{
    if (user_destination % sizeof(u64) != 0 || !is_user_range(user_destination, sizeof(u64)))
        return false;
    UserAccessWindow window;
    return user_store_u64(reinterpret_cast<u64*>(user_destination), value);
}

bool recover_from_user_copy_fault(InterruptFrame& frame)
{
    // Only the copying (or storing) instruction itself, and only on an
    // address in the user range: a kernel pointer that faults is a kernel
    // bug to report.
    u64 fixup;
    if (frame.rip == reinterpret_cast<u64>(user_copy_access))
        fixup = reinterpret_cast<u64>(user_copy_fixup);
    else if (frame.rip == reinterpret_cast<u64>(user_store_access))
        fixup = reinterpret_cast<u64>(user_store_fixup);
    else
        return false;
    if (frame.vector == kVectorPageFault && !is_user_range(read_cr2(), 1))
        return false;
    if (frame.vector != kVectorPageFault && frame.vector != kVectorGeneralProtection)
        return false;
    frame.rip = fixup;
    return true;
}

} // namespace herald::x86
