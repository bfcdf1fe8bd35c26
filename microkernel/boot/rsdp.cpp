#include "rsdp.hpp"

namespace herald {

namespace {

// RSDP layout, ACPI 6.5 §5.2.5.3 (Table 5.3).
constexpr char kRsdpSignature[] = "RSD PTR ";
constexpr usize kRsdpSignatureLength = 8;
constexpr usize kRsdpOemIdOffset = 9;
constexpr usize kRsdpOemIdLength = 6;
constexpr usize kRsdpRevisionOffset = 15;
constexpr usize kRsdpRsdtAddressOffset = 16;
constexpr usize kRsdpLengthOffset = 20;
constexpr usize kRsdpXsdtAddressOffset = 24;
// The ACPI 1.0 part, covered by the first checksum.
constexpr usize kRsdpV1Length = 20;
// The ACPI 2.0+ structure, covered (with any future tail) by the extended checksum.
constexpr usize kRsdpV2Length = 36;
// Revision 2 is the first with Length/XsdtAddress; ACPI 1.0 used revision 0.
constexpr u8 kRsdpFirstExtendedRevision = 2;
// No real RSDP is longer than 36 bytes; the cap keeps a corrupt Length
// field from asking the physical reader for gigabytes.
constexpr usize kRsdpMaxLength = 4 * KiB;

// Where the BIOS keeps things, ACPI 6.5 §5.2.5.1.
constexpr u64 kEbdaSegmentPointer = 0x40E; // 16-bit real-mode segment of the EBDA
constexpr u64 kEbdaSearchLength = 1 * KiB; // only the EBDA's first KiB is searched
constexpr u64 kBiosAreaStart = 0xE0000;
constexpr u64 kBiosAreaEnd = 0x100000; // one past 0xFFFFF
constexpr u64 kRsdpAlignment = 16;     // the RSDP sits on a 16-byte boundary

} // namespace

ErrorOr<AcpiRoot> parse_rsdp(ByteReader bytes)
{
    auto v1_part = bytes.slice(0, kRsdpV1Length);
    if (!v1_part)
        return Error::Truncated;
    if (!v1_part->starts_with(kRsdpSignature, kRsdpSignatureLength))
        return Error::BadMagic;
    if (v1_part->checksum() != 0)
        return Error::BadChecksum;

    AcpiRoot root;
    root.revision = v1_part->read<u8>(kRsdpRevisionOffset).value();
    root.rsdt_address = v1_part->read<u32>(kRsdpRsdtAddressOffset).value();
    auto oem_id = reinterpret_cast<const char*>(v1_part->data() + kRsdpOemIdOffset);
    copy_truncated(root.oem_id, sizeof(root.oem_id), StringView::from_bounded(oem_id, kRsdpOemIdLength));

    if (root.revision < kRsdpFirstExtendedRevision)
        return root;

    auto length = bytes.read<u32>(kRsdpLengthOffset);
    if (!length)
        return Error::Truncated;
    if (*length < kRsdpV2Length)
        return Error::BadLength;
    auto extended = bytes.slice(0, *length);
    if (!extended)
        return Error::Truncated;
    if (extended->checksum() != 0)
        return Error::BadChecksum;
    root.xsdt_address = extended->read<u64>(kRsdpXsdtAddressOffset).value();
    return root;
}

Optional<AcpiRoot> validate_rsdp(ByteReader bytes)
{
    auto root = parse_rsdp(bytes);
    if (root.is_error())
        return nullopt;
    return root.release_value();
}

namespace {

// How many bytes a candidate at `address` claims to occupy, read from its
// header; nullopt when it is not an RSDP at all or its header is unreadable.
Optional<usize> claimed_rsdp_length(const PhysicalReader& memory, PhysicalAddress address)
{
    auto header = memory.read(address, kRsdpV1Length);
    if (!header || !header->starts_with(kRsdpSignature, kRsdpSignatureLength))
        return nullopt;
    if (header->read<u8>(kRsdpRevisionOffset).value() < kRsdpFirstExtendedRevision)
        return kRsdpV1Length;
    auto with_length = memory.read(address, kRsdpLengthOffset + sizeof(u32));
    if (!with_length)
        return nullopt;
    usize length = with_length->read<u32>(kRsdpLengthOffset).value();
    // parse_rsdp reports a short Length itself; read enough for it to see that.
    return min(max(length, kRsdpV2Length), kRsdpMaxLength);
}

Optional<AcpiRoot> rsdp_at(const PhysicalReader& memory, PhysicalAddress address)
{
    auto length = claimed_rsdp_length(memory, address);
    if (!length)
        return nullopt;
    auto bytes = memory.read(address, *length);
    if (!bytes)
        return nullopt;
    return validate_rsdp(*bytes);
}

Optional<AcpiRoot> scan_for_rsdp(const PhysicalReader& memory, u64 start, u64 end)
{
    for (u64 address = align_down(start, kRsdpAlignment); address < end; address += kRsdpAlignment) {
        if (auto root = rsdp_at(memory, PhysicalAddress(address)))
            return root;
    }
    return nullopt;
}

} // namespace

Optional<AcpiRoot> find_rsdp(const PhysicalReader& memory)
{
    if (auto pointer = memory.read(PhysicalAddress(kEbdaSegmentPointer), sizeof(u16))) {
        u64 ebda = static_cast<u64>(pointer->read<u16>(0).value()) << 4;
        if (ebda != 0) {
            if (auto root = scan_for_rsdp(memory, ebda, ebda + kEbdaSearchLength))
                return root;
        }
    }
    return scan_for_rsdp(memory, kBiosAreaStart, kBiosAreaEnd);
}

} // namespace herald
