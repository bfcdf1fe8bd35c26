#include "managed_memory.hpp"

#include "../abi/memory.hpp"
#include "../kernel.hpp"
#include "../log.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"
#include "../mm/address_space.hpp"
#include "../mm/kernel_memory.hpp"
#include "../mm/layout.hpp"

namespace herald {

namespace {

PhysicalRangeSet g_managed; // written once, at bootstrap; read-only after
constexpr u64 kSplitAlignment = 2 * MiB;
// What the kernel keeps free for itself at least: page tables, kernel
// stacks and task objects for some hundreds of tasks, and the programs it
// loads itself.
constexpr u64 kKernelReserve = 32 * MiB;

// Where kKernelReserve bytes of free memory have been counted from 0 up.
PhysicalAddress reserve_end()
{
    u64 counted = 0;
    for (const PhysicalRange& range : memory_inventory().free()) {
        if (counted + range.length >= kKernelReserve)
            return range.base.offset(kKernelReserve - counted);
        counted += range.length;
    }
    return memory_inventory().highest_ram_end();
}

PhysicalAddress split_point()
{
    u64 half = align_down(memory_inventory().highest_ram_end().get() / 2, kSplitAlignment);
    u64 split = min(layout::kKernelRegionEnd, half);
    u64 reserve = 0;
    (void)align_up(reserve_end().get(), kSplitAlignment, reserve);
    return PhysicalAddress(max(split, reserve)); // a big boot module may have filled low memory
}

} // namespace

void managed_memory_take()
{
    PhysicalAddress split = split_point();
    if (auto result = kernel_memory_hand_over(split, PhysicalAddress(abi::kMemoryViewSize), g_managed); result.is_error()) {
        klog("herald: warning: cannot hand memory to the pager ({})", error_name(result.error()));
        g_managed.clear();
    }
    klog("herald: memory above {:#x}: {} MiB in {} ranges for the pager", split.get(),
        g_managed.total_bytes() / MiB, g_managed.count());
}

const PhysicalRangeSet& managed_ranges() { return g_managed; }

bool is_managed_frame(PhysicalAddress frame)
{
    return frame.is_aligned_to(layout::kPageSize) && g_managed.contains(frame);
}

u64 managed_frame_count() { return g_managed.total_bytes() / layout::kPageSize; }

ErrorOr<void> map_managed_frame(u64 task_id, VirtualAddress address, PhysicalAddress frame, u64 map_flags)
{
    HERALD_TRY(check_managed_mapping(frame, map_flags));
    Ref<AddressSpace> space = address_space_of(task_id); // the task table lock for the look-up only
    if (!space)
        return Error::PeerGone;
    return map_checked_frame(*space, address, frame, map_flags);
}

ErrorOr<void> check_managed_mapping(PhysicalAddress frame, u64 map_flags)
{
    if (map_flags & ~static_cast<u64>(abi::MapWritable | abi::MapExecutable | abi::MapZeroed | abi::MapNotReclaimed)
        || !frame.is_aligned_to(layout::kPageSize) || !g_managed.contains(frame))
        return Error::BadArgument;
    return {};
}

ErrorOr<void> map_checked_frame(AddressSpace& space, VirtualAddress address, PhysicalAddress frame, u64 map_flags)
{
    PageFlags flags { .writable = (map_flags & abi::MapWritable) != 0, .executable = (map_flags & abi::MapExecutable) != 0 };
    HERALD_TRY(space.map_pager_frame(address, frame, flags, !(map_flags & abi::MapNotReclaimed)));
    if (map_flags & abi::MapZeroed)
        count<Event::FramesZeroed>(); // where the pager zeroed it: on this CPU, just before (ring 3 or 0)
    return {};
}

} // namespace herald
