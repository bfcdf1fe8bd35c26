// The invariants of a BootInfo that either Multiboot parser filled in,
// whatever the input: shared by the multiboot1 and multiboot2 targets.
#pragma once

#include "fuzz.hpp"
#include "microkernel/boot/boot_info.hpp"

namespace herald::fuzz {

inline void check_boot_info(const BootInfo& info)
{
    FUZZ_CHECK(terminated(info.command_line, sizeof info.command_line));
    FUZZ_CHECK(terminated(info.loader_name, sizeof info.loader_name));
    FUZZ_CHECK(info.memory_count <= BootInfo::kMaxMemoryRegions);
    for (usize i = 0; i < info.memory_count; ++i) {
        const MemoryRegion& region = info.memory[i];
        FUZZ_CHECK(region.length > 0);
        // Later code adds base and length freely: the parser clamps so that
        // they cannot wrap (the end may be exactly 2^64).
        FUZZ_CHECK(region.base.get() == 0 || region.length <= 0 - region.base.get());
        auto type = static_cast<u8>(region.type);
        FUZZ_CHECK(type >= static_cast<u8>(MemoryType::Usable) && type <= static_cast<u8>(MemoryType::BadMemory));
    }
    FUZZ_CHECK(info.module_count <= BootInfo::kMaxModules);
    for (usize i = 0; i < info.module_count; ++i) {
        FUZZ_CHECK(info.modules[i].end.get() >= info.modules[i].start.get());
        FUZZ_CHECK(terminated(info.modules[i].name, sizeof info.modules[i].name));
    }
    if (info.acpi) {
        FUZZ_CHECK(terminated(info.acpi->oem_id, sizeof info.acpi->oem_id));
        if (info.acpi->revision < 2)
            FUZZ_CHECK(info.acpi->xsdt_address == 0);
    }
}

} // namespace herald::fuzz
