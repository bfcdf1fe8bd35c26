#include "acpi_tables.hpp"

namespace herald {

namespace {

// ACPI 6.5 §5.2.6 (Table 5.4): Signature at 0, Length at 4.
constexpr usize kLengthOffset = 4;

// ACPI 6.5 §5.2.7 (RSDT, 32-bit entries) and §5.2.8 (XSDT, 64-bit entries):
// both are a header followed by an array of table addresses.
constexpr char kRsdtSignature[] = "RSDT";
constexpr char kXsdtSignature[] = "XSDT";
constexpr usize kRsdtEntrySize = 4;
constexpr usize kXsdtEntrySize = 8;
// ACPI 6.5 §5.2.5.3: XsdtAddress exists from RSDP revision 2 on.
constexpr u8 kFirstRevisionWithXsdt = 2;

// Reads the header at `address` for its Length, then the whole table, and
// validates it. OutOfRange when memory there cannot be read.
ErrorOr<ByteReader> read_table(const PhysicalReader& memory, PhysicalAddress address,
    const char signature[kAcpiSignatureLength])
{
    auto header = memory.read(address, kAcpiTableHeaderSize);
    if (!header)
        return Error::OutOfRange;
    if (!header->starts_with(signature, kAcpiSignatureLength))
        return Error::BadMagic;
    u32 length = header->read<u32>(kLengthOffset).value();
    if (length < kAcpiTableHeaderSize || length > kAcpiMaxTableLength)
        return Error::BadLength;
    auto table = memory.read(address, length);
    if (!table)
        return Error::OutOfRange;
    return validate_acpi_table(*table, signature);
}

struct RootTable {
    ByteReader entries;
    usize entry_size;
};

ErrorOr<RootTable> read_root_table(const PhysicalReader& memory, const AcpiRoot& root)
{
    bool use_xsdt = root.revision >= kFirstRevisionWithXsdt && root.xsdt_address != 0;
    PhysicalAddress address(use_xsdt ? root.xsdt_address : root.rsdt_address);
    auto table = HERALD_TRY(read_table(memory, address, use_xsdt ? kXsdtSignature : kRsdtSignature));
    usize entries_size = table.size() - kAcpiTableHeaderSize;
    auto entries = table.slice(kAcpiTableHeaderSize, entries_size).value();
    return RootTable { entries, use_xsdt ? kXsdtEntrySize : kRsdtEntrySize };
}

u64 root_entry(const RootTable& root, usize index)
{
    usize offset = index * root.entry_size;
    if (root.entry_size == kXsdtEntrySize)
        return root.entries.read<u64>(offset).value();
    return root.entries.read<u32>(offset).value();
}

// Whether the table at `address` has `signature`; errors when unreadable.
ErrorOr<bool> has_signature(const PhysicalReader& memory, PhysicalAddress address,
    const char signature[kAcpiSignatureLength])
{
    auto header = memory.read(address, kAcpiSignatureLength);
    if (!header)
        return Error::OutOfRange;
    return header->starts_with(signature, kAcpiSignatureLength);
}

} // namespace

ErrorOr<ByteReader> validate_acpi_table(ByteReader bytes, const char signature[kAcpiSignatureLength])
{
    auto length = bytes.read<u32>(kLengthOffset);
    if (!length)
        return Error::Truncated;
    if (!bytes.starts_with(signature, kAcpiSignatureLength))
        return Error::BadMagic;
    if (*length < kAcpiTableHeaderSize || *length > kAcpiMaxTableLength)
        return Error::BadLength;
    auto table = bytes.slice(0, *length);
    if (!table)
        return Error::Truncated;
    if (table->checksum() != 0)
        return Error::BadChecksum;
    return *table;
}

ErrorOr<AcpiTable> find_table(const PhysicalReader& memory, const AcpiRoot& root,
    const char signature[kAcpiSignatureLength])
{
    auto root_table = HERALD_TRY(read_root_table(memory, root));
    // A trailing partial entry is ignored, as it cannot hold an address.
    usize entry_count = root_table.entries.size() / root_table.entry_size;

    // Keep looking past broken entries: firmware may list a table twice, and
    // one bad pointer should not hide the tables after it.
    Error first_problem = Error::NotFound;
    for (usize i = 0; i < entry_count; ++i) {
        PhysicalAddress address(root_entry(root_table, i));
        if (address.get() == 0)
            continue; // an unused slot
        auto matches = has_signature(memory, address, signature);
        if (matches.is_error() || !matches.value()) {
            if (matches.is_error() && first_problem == Error::NotFound)
                first_problem = matches.error();
            continue;
        }
        auto table = read_table(memory, address, signature);
        if (!table.is_error())
            return AcpiTable { address, table.value() };
        if (first_problem == Error::NotFound)
            first_problem = table.error();
    }
    return first_problem;
}

} // namespace herald
