// What the kernel learned while booting, for the code that runs after it
// (and for the in-system tests, which check it against the machine).
#pragma once

#include "acpi/mcfg.hpp"
#include "acpi/platform_topology.hpp"
#include "arch/x86_64/cpu_features.hpp"
#include "arch/x86_64/paging.hpp"
#include "boot/boot_info.hpp"
#include "mm/memory_inventory.hpp"

namespace herald {

const BootInfo& boot_info();
const MemoryInventory& memory_inventory();
const x86::CpuFeatures& cpu_features();
const x86::PagingSummary& paging_summary();
const PlatformTopology& platform_topology();
const McfgAreas& pci_ecam_areas(); // ACPI MCFG: none on machines without ECAM

// What runs once the kernel is ready. The normal image idles for now (tasks
// and servers come with later work); the test image runs the self-tests.
// Defined once per image: microkernel/after_boot.cpp or tests/insystem/.
[[noreturn]] void after_boot();

} // namespace herald
