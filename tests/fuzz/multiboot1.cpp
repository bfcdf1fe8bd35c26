// Fuzzes the Multiboot v1 info parser (microkernel/boot/multiboot1.cpp).
//
// Input: physical memory from address 0, with the info structure at 0. v1
// hands over physical pointers (command line, modules, memory map, loader
// name), so every one of them is followed into the same bytes, and whatever
// lies past them is unreadable, as unmapped memory is to the kernel.
#include "boot_info_checks.hpp"
#include "microkernel/boot/multiboot1.hpp"

#include <memory>

using namespace herald;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::Memory memory;
    memory.add(0, data, size);
    auto info = std::make_unique<BootInfo>();
    auto result = parse_multiboot1(memory, PhysicalAddress(0), *info);
    fuzz::check_boot_info(*info); // even after an error nothing is out of bounds
    if (!result.is_error()) {
        FUZZ_CHECK(info->protocol == BootProtocol::Multiboot1);
        FUZZ_CHECK(info->memory_count > 0);
        FUZZ_CHECK(!info->acpi); // v1 never passes the RSDP
    }
    return 0;
}
