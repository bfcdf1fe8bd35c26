// BootInfo: everything the kernel learns from its boot loader, in one record.
//
// Herald boots two ways (docs/boot.md): QEMU's Multiboot v1 loader for fast
// direct boot, and GRUB's Multiboot2 for real firmware. Both parsers fill in
// this same record, copying what they need, so after parsing nothing points
// back into loader-owned memory except the module contents themselves.
#pragma once

#include "../lib/address.hpp"
#include "../lib/optional.hpp"
#include "../lib/string_view.hpp"
#include "../lib/types.hpp"

namespace herald {

enum class BootProtocol : u8 { Multiboot1, Multiboot2 };

// Memory-map entry types as both Multiboot versions number them (Multiboot2
// spec 3.6.8; the same values as the ACPI/E820 address range types).
enum class MemoryType : u8 {
    Usable = 1,
    Reserved = 2,
    AcpiReclaimable = 3,
    AcpiNvs = 4,
    BadMemory = 5,
};

struct MemoryRegion {
    PhysicalAddress base;
    u64 length { 0 };
    MemoryType type { MemoryType::Reserved };
};

// A boot module (the boot archive). `name` is the module's command line as
// the loader gave it; a parser stores it truncated to fit and NUL-terminated.
struct BootModule {
    PhysicalAddress start;
    PhysicalAddress end; // one past the last byte
    char name[96] {};
    StringView name_view() const { return StringView::from_bounded(name, sizeof(name)); }
};

// The ACPI root pointer (ACPI 6.5, 5.2.5.3), already checksum-validated.
// Multiboot2 hands over a copy of the RSDP rather than its address, so the
// fields Herald needs are kept by value.
struct AcpiRoot {
    u8 revision { 0 };
    u32 rsdt_address { 0 };
    u64 xsdt_address { 0 }; // 0 when revision < 2
    char oem_id[7] {};
};

struct BootInfo {
    static constexpr usize kMaxMemoryRegions = 128;
    static constexpr usize kMaxModules = 16;
    // Linux's x86 COMMAND_LINE_SIZE is 2048; the study's benchmark runs pass
    // a path and a list of figures, which outgrew 256.
    static constexpr usize kMaxCommandLine = 1024;
    static constexpr usize kMaxLoaderName = 64;

    BootProtocol protocol { BootProtocol::Multiboot1 };
    char command_line[kMaxCommandLine] {};
    char loader_name[kMaxLoaderName] {};

    MemoryRegion memory[kMaxMemoryRegions] {};
    usize memory_count { 0 };
    // True when the loader gave more regions than fit: the rest were dropped.
    bool memory_truncated { false };

    BootModule modules[kMaxModules] {};
    usize module_count { 0 };

    Optional<AcpiRoot> acpi;

    StringView command_line_view() const { return StringView::from_bounded(command_line, sizeof(command_line)); }
    StringView loader_name_view() const { return StringView::from_bounded(loader_name, sizeof(loader_name)); }
};

// Copies at most `capacity - 1` bytes of `text` into `destination` and NUL-terminates it.
inline void copy_truncated(char* destination, usize capacity, StringView text)
{
    usize length = min(text.length(), capacity - 1);
    for (usize i = 0; i < length; ++i)
        destination[i] = text[i];
    destination[length] = '\0';
}

} // namespace herald
