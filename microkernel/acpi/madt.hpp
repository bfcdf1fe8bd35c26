// The ACPI Multiple APIC Description Table (MADT, signature "APIC"; ACPI 6.5
// §5.2.12): the processors' local APICs, the I/O APICs and how ISA IRQs and
// NMIs are wired to them.
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"
#include "platform_topology.hpp"

namespace herald {

inline constexpr char kMadtSignature[] = "APIC";

// Parses a whole MADT (header included, as find_table returns it), replacing
// what `out` held. The header is checked again (signature, Length within
// `madt`, checksum) so the parser is safe on any bytes. Entries of unknown
// type are skipped by their length. On error `out` is partly filled and must
// not be used.
// Errors: Truncated/BadLength/BadMagic/BadChecksum for the header; BadLength
// for an entry shorter than its type needs (including length < 2), Truncated
// for one running past the table; Duplicate for two CPUs or I/O APICs with
// one id; TooMany when I/O APICs or overrides do not fit.
ErrorOr<void> parse_madt(ByteReader madt, PlatformTopology& out);

} // namespace herald
