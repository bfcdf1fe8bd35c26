#include "kernel_stacks.hpp"

#include "../arch/x86_64/paging.hpp"
#include "../lib/assert.hpp"
#include "../stats/event_counters.hpp"
#include "../sync/spinlock.hpp"
#include "kernel_memory.hpp"
#include "layout.hpp"

namespace herald {

namespace {

constexpr u64 kSlotSize = 2 * kKernelStackBytes; // the lower half is the guard
constexpr u64 kSlots = layout::kKernelStacksSize / kSlotSize;
constexpr u64 kStackPages = kKernelStackBytes / layout::kPageSize;

SpinLock g_lock;
u64 g_next_fresh_slot GUARDED_BY(g_lock);
u8* g_free GUARDED_BY(g_lock); // freed stacks; the first word of each links to the next

u8* stack_of_slot(u64 slot) { return reinterpret_cast<u8*>(layout::kKernelStacksBase + slot * kSlotSize + kKernelStackBytes); }

bool map_fresh_stack(u8* stack)
{
    for (u64 page = 0; page < kStackPages; ++page) {
        auto frame = allocate_kernel_frame();
        if (!frame)
            return false;
        VirtualAddress where(reinterpret_cast<u64>(stack) + page * layout::kPageSize);
        if (x86::map_kernel_page(where, *frame).is_error())
            return false;
    }
    return true;
}

} // namespace

void kernel_stacks_init()
{
    auto result = x86::prepare_kernel_tables(VirtualAddress(layout::kKernelStacksBase));
    HERALD_ASSERT(!result.is_error());
}

u8* allocate_kernel_stack()
{
    u64 slot;
    {
        SpinLockGuard guard(g_lock);
        if (g_free) {
            u8* stack = g_free;
            g_free = *reinterpret_cast<u8**>(stack);
            __builtin_memset(stack, 0, kKernelStackBytes);
            count_frames_zeroed(kStackPages);
            return stack;
        }
        if (g_next_fresh_slot >= kSlots)
            return nullptr;
        slot = g_next_fresh_slot++;
    }
    u8* stack = stack_of_slot(slot);
    // A slot whose mapping failed half-way is not reused: it stays out.
    return map_fresh_stack(stack) ? stack : nullptr;
}

void free_kernel_stack(u8* stack)
{
    SpinLockGuard guard(g_lock);
    *reinterpret_cast<u8**>(stack) = g_free;
    g_free = stack;
}

bool is_mapped_kernel_stack(u64 address, u64 length)
{
    u64 base = layout::kKernelStacksBase;
    if (address < base || address - base >= layout::kKernelStacksSize || length > kKernelStackBytes)
        return false;
    u64 offset = (address - base) % kSlotSize;
    return offset >= kKernelStackBytes && offset + length <= kSlotSize;
}

} // namespace herald
