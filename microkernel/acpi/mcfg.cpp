#include "mcfg.hpp"

#include "acpi_tables.hpp"

namespace herald {

namespace {

// PCI Firmware 3.2 Table 4-2/4-3: 8 reserved bytes after the header, then
// 16-byte allocation entries (base u64, segment u16, start and end bus u8,
// 4 reserved bytes).
constexpr usize kFirstEntry = kAcpiTableHeaderSize + 8;
constexpr usize kEntrySize = 16;
constexpr u64 kBusAreaAlignment = 1ull << 20;
constexpr u64 kPhysicalLimit = 1ull << 52;

} // namespace

ErrorOr<void> parse_mcfg(ByteReader mcfg, McfgAreas& out)
{
    out = McfgAreas {};
    ByteReader table = HERALD_TRY(validate_acpi_table(mcfg, kMcfgSignature));
    if (table.size() < kFirstEntry || (table.size() - kFirstEntry) % kEntrySize != 0)
        return Error::BadLength;
    for (usize offset = kFirstEntry; offset < table.size(); offset += kEntrySize) {
        if (out.count == McfgAreas::kMax)
            return Error::TooMany;
        EcamArea area;
        area.base = *table.read<u64>(offset);
        area.segment = *table.read<u16>(offset + 8);
        area.start_bus = *table.read<u8>(offset + 10);
        area.end_bus = *table.read<u8>(offset + 11);
        if (area.end_bus < area.start_bus || area.base % kBusAreaAlignment != 0 || area.base >= kPhysicalLimit
            || area.length() > kPhysicalLimit - area.base)
            return Error::OutOfRange;
        out.areas[out.count++] = area;
    }
    return {};
}

} // namespace herald
