// PhysicalReader: access to physical memory for code that follows physical
// pointers (Multiboot v1 info, the BIOS RSDP scan, ACPI tables). The kernel's
// implementation reads through its identity map and refuses addresses it has
// not mapped; host tests back it with a fake memory image. Either way a bad
// pointer from firmware becomes nullopt, never a fault.
#pragma once

#include "../lib/address.hpp"
#include "../lib/bytes.hpp"
#include "../lib/optional.hpp"

namespace herald {

class PhysicalReader {
public:
    virtual Optional<ByteReader> read(PhysicalAddress address, usize length) const = 0;

protected:
    ~PhysicalReader() = default;
};

} // namespace herald
