#include "managed_memory.hpp"

#include "../abi/memory.hpp"
#include "../kernel.hpp"
#include "../log.hpp"
#include "kernel_memory.hpp"
#include "layout.hpp"

namespace herald {

namespace {

PhysicalRangeSet g_managed; // written once, at bootstrap; read-only after
constexpr u64 kSplitAlignment = 2 * MiB;

PhysicalAddress split_point()
{
    u64 half = align_down(memory_inventory().highest_ram_end().get() / 2, kSplitAlignment);
    return PhysicalAddress(min(layout::kKernelRegionEnd, half));
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

} // namespace herald
