// The Intel MultiProcessor Specification 1.4 tables: the fallback source of
// CPU and I/O APIC information on machines without a usable ACPI MADT.
// The MP floating pointer structure (§4.1) points at the MP configuration
// table (§4.2), whose base section lists processors, buses, I/O APICs and
// interrupt wiring.
#pragma once

#include "../boot/physical_reader.hpp"
#include "../lib/address.hpp"
#include "../lib/bytes.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "platform_topology.hpp"

namespace herald {

struct MpFloatingPointer {
    PhysicalAddress address;            // where the structure itself lies
    u32 config_table_address { 0 };     // 0: no table, see default_configuration
    u8 spec_revision { 0 };             // 1 for MP 1.1, 4 for MP 1.4
    u8 default_configuration { 0 };     // feature byte 1: nonzero means a §5 default, no table
    bool imcr_present { false };        // feature byte 2 bit 7: PIC mode via the IMCR (§3.6.2.1)
};

// Checks a candidate: "_MP_", Length >= 1 paragraph and within `bytes`,
// checksum over Length*16 bytes.
ErrorOr<MpFloatingPointer> parse_mp_floating_pointer(ByteReader bytes, PhysicalAddress address);

// The §4 search, on 16-byte boundaries: the first KiB of the EBDA (segment
// at 0x40E), the last KiB of base memory (KiB count at 0x413, else
// 0x9FC00), then the BIOS ROM 0xF0000-0xFFFFF. The first valid one wins.
Optional<MpFloatingPointer> find_mp_floating_pointer(const PhysicalReader& memory);

// The configuration table's base section (header plus entries, Base Table
// Length bytes). Unsupported for a default configuration, NotFound when the
// pointer gives no table, OutOfRange when memory there cannot be read,
// BadMagic/BadLength/BadChecksum as parse_mp_config_table's header checks.
ErrorOr<ByteReader> read_mp_config_table(const PhysicalReader& memory, const MpFloatingPointer& pointer);

// Parses a configuration table base section, replacing what `out` held.
// The header is checked ("PCMP", Base Table Length within `table`,
// checksum). Processors not marked usable are not recorded. ISA interrupt
// assignments that differ from identity edge/high become overrides, if
// their I/O APIC's GSI base is known. On error `out` must not be used.
// Errors: Truncated/BadLength/BadMagic/BadChecksum for the header; BadLength
// when Entry Count promises more than the table holds; Truncated for an
// entry cut off by the end; Unsupported for an unknown entry type (base
// entries carry no length, so it cannot be skipped); Duplicate, TooMany as
// for the MADT.
ErrorOr<void> parse_mp_config_table(ByteReader table, PlatformTopology& out);

} // namespace herald
