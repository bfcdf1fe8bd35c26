// SMP bring-up: starting every application processor the firmware lists.
#pragma once

#include "../../acpi/platform_topology.hpp"
#include "../../boot/boot_info.hpp"

namespace herald::x86 {

struct SmpResult {
    usize found { 0 };  // enabled CPUs in the firmware tables, the boot CPU included
    usize online { 0 }; // CPUs running the kernel now
};

// Makes the boot CPU processor 0 (GS base, local APIC).
void init_boot_processor();

// Starts the other CPUs one at a time with INIT-STARTUP-STARTUP. A CPU that
// does not answer in time is reported and skipped, never waited on forever.
SmpResult start_application_processors(const PlatformTopology& topology, const BootInfo& boot_info);

} // namespace herald::x86
