// PageViewRecord: a page of user RAM one CPU reaches through the physmap
// right now (mm/address_space.hpp, PageView). Each CPU has kViewSlots of
// them (smp/processor.hpp, Processor::page_views); a MemoryUnmap or a
// teardown waits for the records that name its frame or its space
// (smp/page_views.hpp). Here, below both, because mm/ fills them and may
// not see the CPUs, and smp/ keeps them and may not see address spaces.
#pragma once

#include "types.hpp"

namespace herald {

struct PageViewRecord {
    const void* space; // the AddressSpace; null: the slot is free
    u64 frame;         // 4 KiB-aligned; 0 once free
};

// An IPC copy holds one on each side; a ring-0 service's view of its
// caller's buffer takes the destination slot.
inline constexpr usize kViewSource = 0;
inline constexpr usize kViewDestination = 1;
inline constexpr usize kViewSlots = 2;

} // namespace herald
