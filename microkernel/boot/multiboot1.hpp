// Multiboot v1 boot information parser (Multiboot 0.6.96 §3.3), for QEMU's
// built-in direct-boot loader (-kernel).
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "boot_info.hpp"
#include "physical_reader.hpp"

namespace herald {

// Parses the info structure at `info_address`. Unlike Multiboot2, v1 hands
// over physical pointers, which are only ever followed through `memory`.
// Resets `out` first; after an error `out` holds partial results and must
// not be used. v1 never passes the RSDP, so `out.acpi` stays empty.
ErrorOr<void> parse_multiboot1(const PhysicalReader& memory, PhysicalAddress info_address, BootInfo& out);

} // namespace herald
