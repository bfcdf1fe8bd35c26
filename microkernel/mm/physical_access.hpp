// Reading physical memory from the kernel.
//
// Before the final page tables, the boot tables identity-map the first
// 4 GiB; afterwards every byte of RAM (and the low 1 MiB) is reachable at
// layout::kPhysmapBase + address. KernelPhysicalReader picks whichever is
// live and refuses anything outside it, so firmware pointers cannot fault.
#pragma once

#include "../boot/physical_reader.hpp"
#include "memory_inventory.hpp"

namespace herald {

class KernelPhysicalReader final : public PhysicalReader {
public:
    Optional<ByteReader> read(PhysicalAddress address, usize length) const override;
};

// Called once the final tables are live; `ram` is what the physmap covers.
void physical_access_use_physmap(const PhysicalRangeSet& ram);

} // namespace herald
