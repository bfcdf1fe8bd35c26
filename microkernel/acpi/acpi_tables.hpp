// Finding ACPI system description tables through the RSDT or XSDT
// (ACPI 6.5 §5.2.7, §5.2.8). Every table is validated before a parser sees
// it: header length, that the whole table is readable, and the checksum.
#pragma once

#include "../boot/boot_info.hpp"
#include "../boot/physical_reader.hpp"
#include "../lib/address.hpp"
#include "../lib/bytes.hpp"
#include "../lib/error.hpp"

namespace herald {

// ACPI 6.5 §5.2.6 (Table 5.4): the header every description table starts with.
inline constexpr usize kAcpiTableHeaderSize = 36;
inline constexpr usize kAcpiSignatureLength = 4;
// No table Herald looks up through the root is anywhere near this long
// (a MADT for 256 x2APIC CPUs is about 4 KiB); the cap keeps a corrupt
// Length field from asking the physical reader for gigabytes.
inline constexpr usize kAcpiMaxTableLength = 64 * KiB;

struct AcpiTable {
    PhysicalAddress address;
    ByteReader bytes; // exactly the header's Length bytes
};

// Checks a table already in memory: signature, Length >= 36 and within
// `bytes` and the cap, checksum over Length. Returns the bytes cut to Length.
ErrorOr<ByteReader> validate_acpi_table(ByteReader bytes, const char signature[kAcpiSignatureLength]);

// The first valid table with `signature` listed in the XSDT (revision >= 2
// and an XSDT address given) or else the RSDT.
// Errors: the root table's own problems (OutOfRange when unreadable,
// BadMagic, BadLength, BadChecksum); NotFound when no entry has the
// signature; otherwise the problem of a matching-but-broken entry (or of an
// unreadable entry), so a missing table caused by corruption says so.
ErrorOr<AcpiTable> find_table(const PhysicalReader& memory, const AcpiRoot& root,
    const char signature[kAcpiSignatureLength]);

} // namespace herald
