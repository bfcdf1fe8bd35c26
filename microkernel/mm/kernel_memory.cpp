#include "kernel_memory.hpp"

#include "../arch/x86_64/paging.hpp"
#include "../stats/event_counters.hpp"
#include "../sync/spinlock.hpp"
#include "layout.hpp"

namespace herald {

namespace {

SpinLock g_lock;
alignas(BootFrameAllocator) unsigned char g_allocator_storage[sizeof(BootFrameAllocator)];
BootFrameAllocator* g_allocator;
MemoryInventory* g_inventory;

u8* zeroed(PhysicalAddress address, usize pages)
{
    u8* pointer = kernel_pointer(address);
    __builtin_memset(pointer, 0, pages * layout::kPageSize);
    count_frames_zeroed(pages);
    return pointer;
}

} // namespace

u8* kernel_pointer(PhysicalAddress page)
{
    if (page.get() < layout::kKernelRegionEnd || !x86::kernel_paging_enabled())
        return reinterpret_cast<u8*>(page.get());
    return reinterpret_cast<u8*>(layout::physmap_address(page.get()));
}

void kernel_memory_init(MemoryInventory& inventory)
{
    g_inventory = &inventory;
    g_allocator = new (g_allocator_storage) BootFrameAllocator(inventory, PhysicalAddress(layout::kBootIdentityMapEnd));
}

Optional<PhysicalAddress> allocate_kernel_frame()
{
    Optional<PhysicalAddress> frame;
    {
        SpinLockGuard guard(g_lock);
        HERALD_ASSERT(g_allocator);
        frame = g_allocator->allocate_frame();
    }
    if (frame)
        zeroed(*frame, 1);
    return frame;
}

u8* allocate_kernel_pages(usize pages)
{
    Optional<PhysicalAddress> run;
    {
        SpinLockGuard guard(g_lock);
        HERALD_ASSERT(g_allocator);
        run = g_allocator->allocate_contiguous(pages);
    }
    return run ? zeroed(*run, pages) : nullptr;
}

usize kernel_pages_allocated()
{
    SpinLockGuard guard(g_lock);
    return g_allocator ? g_allocator->frames_allocated() : 0;
}

ErrorOr<void> kernel_memory_hand_over(PhysicalAddress from, PhysicalAddress to, PhysicalRangeSet& out)
{
    SpinLockGuard guard(g_lock);
    HERALD_ASSERT(g_inventory);
    return g_inventory->hand_over_free(from, to, out);
}

} // namespace herald
