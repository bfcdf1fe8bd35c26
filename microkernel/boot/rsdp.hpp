// The ACPI Root System Description Pointer: validating a copy of it (as
// Multiboot2 hands over) and finding it in BIOS memory (as Multiboot v1
// boots need, since that protocol never passes it).
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "boot_info.hpp"
#include "physical_reader.hpp"

namespace herald {

// Checks the signature, the ACPI 1.0 checksum and, for revision >= 2, the
// length and extended checksum; says which check failed.
ErrorOr<AcpiRoot> parse_rsdp(ByteReader bytes);

// parse_rsdp for callers that only care whether the RSDP is usable.
Optional<AcpiRoot> validate_rsdp(ByteReader bytes);

// The legacy BIOS search (ACPI 6.5 §5.2.5.1): the first KiB of the EBDA,
// then the read-only BIOS area 0xE0000-0xFFFFF, on 16-byte boundaries.
// Returns the first candidate that validates.
Optional<AcpiRoot> find_rsdp(const PhysicalReader& memory);

} // namespace herald
