// tool_dump_firmware_tables: prints the ACPI tables and the MP table of the
// machine as hex, so that tools/dump-firmware-tables.sh can turn them into
// host test fixtures (tests/host/fixtures/). Not a test: run only by name.
#include "microkernel/kernel.hpp"
#include "microkernel/log.hpp"
#include "microkernel/mm/physical_access.hpp"
#include "selftest.hpp"

using namespace herald;

namespace {

constexpr usize kAcpiHeaderSize = 36;       // ACPI 6.5 §5.2.6
constexpr usize kMaxTableSize = 64 * KiB;   // no sane table is larger
constexpr usize kMpFloatingPointerSize = 16; // MP spec 1.4 §4.1

void dump(StringView name, PhysicalAddress address, usize length)
{
    auto bytes = KernelPhysicalReader().read(address, length);
    if (!bytes) {
        klog("fwdump: {} unreadable at {:#x}", name, address.get());
        return;
    }
    format(serial::sink(), "fwdump: {} {:#x} {} ", name, address.get(), length);
    for (usize i = 0; i < length; ++i)
        format(serial::sink(), "{:02x}", bytes->data()[i]);
    serial::write("\n", 1);
}

Optional<u32> table_length(u64 address)
{
    auto header = KernelPhysicalReader().read(PhysicalAddress(address), kAcpiHeaderSize);
    if (!header)
        return nullopt;
    u32 length = header->read<u32>(4).value();
    if (length < kAcpiHeaderSize || length > kMaxTableSize)
        return nullopt;
    return length;
}

void dump_acpi()
{
    const auto& acpi = boot_info().acpi;
    if (!acpi) {
        klog("fwdump: no ACPI");
        return;
    }
    bool use_xsdt = acpi->revision >= 2 && acpi->xsdt_address != 0;
    u64 root = use_xsdt ? acpi->xsdt_address : acpi->rsdt_address;
    usize entry_size = use_xsdt ? 8 : 4;
    auto root_length = table_length(root);
    if (!root_length)
        return;
    dump(use_xsdt ? "XSDT" : "RSDT", PhysicalAddress(root), *root_length);
    auto root_bytes = KernelPhysicalReader().read(PhysicalAddress(root), *root_length);
    for (usize offset = kAcpiHeaderSize; offset + entry_size <= *root_length; offset += entry_size) {
        u64 table = use_xsdt ? root_bytes->read<u64>(offset).value() : root_bytes->read<u32>(offset).value();
        auto length = table_length(table);
        auto signature = KernelPhysicalReader().read(PhysicalAddress(table), 4);
        if (length && signature)
            dump(StringView(reinterpret_cast<const char*>(signature->data()), 4), PhysicalAddress(table), *length);
    }
}

// MP floating pointer: "_MP_" on a 16-byte boundary in the EBDA's first KiB,
// the last KiB of base memory, or 0xF0000-0xFFFFF (MP spec 1.4 §4).
void dump_mp()
{
    struct Area {
        u64 start, length;
    };
    const Area areas[] = { { 0x9FC00, 0x400 }, { 0xF0000, 0x10000 } };
    for (const Area& area : areas) {
        auto bytes = KernelPhysicalReader().read(PhysicalAddress(area.start), area.length);
        if (!bytes)
            continue;
        for (usize offset = 0; offset + kMpFloatingPointerSize <= area.length; offset += 16) {
            auto candidate = bytes->slice(offset, kMpFloatingPointerSize);
            if (!candidate->starts_with("_MP_", 4) || candidate->checksum() != 0)
                continue;
            dump("MPFP", PhysicalAddress(area.start + offset), kMpFloatingPointerSize);
            u32 config = candidate->read<u32>(4).value();
            auto header = KernelPhysicalReader().read(PhysicalAddress(config), 44);
            if (config && header) {
                u16 base_length = header->read<u16>(4).value();
                u16 extended_length = header->read<u16>(40).value();
                dump("MPCT", PhysicalAddress(config), base_length + extended_length);
            }
            return;
        }
    }
    klog("fwdump: no MP table");
}

} // namespace

HERALD_SELFTEST(tool_dump_firmware_tables)
{
    dump_acpi();
    dump_mp();
}
