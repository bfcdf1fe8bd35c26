// Which physical ranges may be handed to a driver as device memory
// (object/device_memory.hpp, docs/drivers.md): never RAM of any kind
// (usable, ACPI reclaimable, ACPI NVS: the inventory's `ram` set, which
// covers the kernel, its page tables and every frame the memory server
// hands out), never the registers the kernel drives itself (local APIC, I/O
// APICs), and only what the CPU can address. Reserved ranges and holes in
// the firmware's map (PCI windows, the ECAM area, the HPET) are fine.
// Portable (host-tested: device_range_test.cpp).
#pragma once

#include "memory_inventory.hpp"

namespace herald {

// BadAlignment: base or length not 4 KiB-aligned; BadLength: length 0;
// OutOfRange: the range wraps or ends above 2^physical_address_bits;
// NotDeviceMemory: it overlaps `ram` or one of `kernel_registers`.
ErrorOr<void> check_device_range(PhysicalRange range, const PhysicalRangeSet& ram,
    const PhysicalRange* kernel_registers, usize kernel_register_count, u8 physical_address_bits);

} // namespace herald
