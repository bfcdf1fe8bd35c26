// The ACPI MCFG table (PCI Firmware Specification 3.2 §4.1.2): where each
// PCI segment's ECAM area (the enhanced configuration access mechanism,
// PCI Express Base 4.0 §7.2.2) lies. q35 has one, for segment 0, buses
// 0-255; the i440fx machine has none (then the PCI server uses ports
// 0xCF8/0xCFC). The kernel reads the table (ACPI tables are RAM, which no
// driver can map) and hands the PCI server segment 0's area as device
// memory. Portable: host-tested and fuzzed.
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"

namespace herald {

inline constexpr char kMcfgSignature[] = "MCFG";

struct EcamArea {
    u64 base { 0 };      // the configuration space of bus start_bus, device 0, function 0
    u16 segment { 0 };
    u8 start_bus { 0 };
    u8 end_bus { 0 };
    // Bytes of the area: 1 MiB per bus (32 devices x 8 functions x 4 KiB).
    u64 length() const { return (static_cast<u64>(end_bus) - start_bus + 1) << 20; }
};

struct McfgAreas {
    static constexpr usize kMax = 16;
    EcamArea areas[kMax] {};
    usize count { 0 };
};

// Parses a whole MCFG (header included). The header is checked again
// (signature, Length within `mcfg`, checksum). Errors: Truncated,
// BadMagic, BadLength, BadChecksum for the header; BadLength when the
// allocation entries do not fill the table exactly; OutOfRange for an entry
// whose end bus is below its start bus, whose base is not 1 MiB-aligned or
// whose area runs past 2^52; TooMany beyond kMax entries.
ErrorOr<void> parse_mcfg(ByteReader mcfg, McfgAreas& out);

} // namespace herald
