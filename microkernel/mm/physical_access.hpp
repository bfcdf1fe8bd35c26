// Reading physical memory from the kernel.
//
// Before the final page tables, the boot tables identity-map the first
// 4 GiB; afterwards every byte of RAM (and the low 1 MiB) is reachable at
// layout::kPhysmapBase + address. Firmware tables in memory the firmware map
// calls reserved or ACPI (SeaBIOS keeps ACPI in "reserved") are added to the
// physmap read-only and uncached on first use, at most 64 KiB per read. Anything else, such as a pointer into a hole or
// into device memory, is refused: firmware pointers cannot fault the kernel.
#pragma once

#include "../boot/physical_reader.hpp"
#include "memory_inventory.hpp"

namespace herald {

class KernelPhysicalReader final : public PhysicalReader {
public:
    Optional<ByteReader> read(PhysicalAddress address, usize length) const override;
};

// Called once the final tables are live; `ram` is what the physmap covers,
// `info` lists the firmware regions that may be mapped on demand.
void physical_access_use_physmap(const PhysicalRangeSet& ram, const BootInfo& info);

} // namespace herald
