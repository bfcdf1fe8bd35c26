// Fuzzes the ACPI RSDP parser and the BIOS search for it (microkernel/boot/rsdp.cpp).
//
// Input: an RSDP candidate. parse_rsdp() sees it as given and again with
// both checksums made right (byte 8 over the first 20 bytes, byte 32 over
// Length); then find_rsdp() scans physical memory with the input at the
// start of the EBDA (as the BIOS data area points to it) and the input's
// last KiB at the end of the BIOS area, the two places ACPI 6.5 §5.2.5.1
// says to search (when the input holds a signature at all).
#include "fuzz.hpp"
#include "microkernel/boot/rsdp.hpp"

using namespace herald;

namespace {

constexpr size_t kV1Length = 20;
constexpr size_t kV1ChecksumAt = 8;
constexpr size_t kLengthAt = 20;
constexpr size_t kExtendedChecksumAt = 32;
constexpr u64 kEbdaSegmentPointer = 0x40E;
constexpr u16 kEbdaSegment = 0x9FC0;
constexpr u64 kEbda = u64 { kEbdaSegment } << 4;
constexpr u64 kBiosAreaEnd = 0x100000;

bool is_rsdp_signature(const u8* bytes) { return std::memcmp(bytes, "RSD PTR ", 8) == 0; }

void check_root(const AcpiRoot& root, const u8* bytes, size_t size)
{
    FUZZ_CHECK(size >= kV1Length);
    FUZZ_CHECK(is_rsdp_signature(bytes));
    FUZZ_CHECK(fuzz::byte_sum(bytes, kV1Length) == 0);
    FUZZ_CHECK(fuzz::terminated(root.oem_id, sizeof root.oem_id));
    FUZZ_CHECK(root.revision == bytes[15]);
    FUZZ_CHECK(root.rsdt_address == fuzz::load<u32>(bytes, size, 16));
    if (root.revision < 2) {
        FUZZ_CHECK(root.xsdt_address == 0);
        return;
    }
    u32 length = fuzz::load<u32>(bytes, size, kLengthAt);
    FUZZ_CHECK(length >= 36 && length <= size);
    FUZZ_CHECK(fuzz::byte_sum(bytes, length) == 0);
}

void parse(const u8* bytes, size_t size)
{
    auto root = parse_rsdp(ByteReader(bytes, size));
    if (!root.is_error())
        check_root(root.value(), bytes, size);
    FUZZ_CHECK(validate_rsdp(ByteReader(bytes, size)).has_value() == !root.is_error());
}

// A root find_rsdp() returns must be one of the candidates it was shown:
// a signature on a 16-byte boundary with the ACPI 1.0 checksum right, in
// the bytes of the input (the first `head` bytes of the range, or its last KiB).
bool found_in(const AcpiRoot& root, const std::vector<u8>& range, size_t head)
{
    for (size_t at = 0; at + kV1Length <= range.size(); at += 16) {
        if (at >= head + 16 && at + 1024 < range.size())
            at = range.size() - 1024; // zeros between: skip them
        const u8* candidate = range.data() + at;
        if (is_rsdp_signature(candidate) && fuzz::byte_sum(candidate, kV1Length) == 0
            && fuzz::load<u32>(candidate, kV1Length, 16) == root.rsdt_address && candidate[15] == root.revision)
            return true;
    }
    return false;
}

// The BIOS data area's EBDA pointer, and one range from the EBDA to the end
// of the BIOS area, allocated once (find_rsdp reads it 8,000 times, and a
// fresh 400 KiB per input would cost more than the search).
class BiosMemory final : public PhysicalReader {
public:
    BiosMemory() : m_low(kBiosAreaEnd - kEbda) { }

    Optional<ByteReader> read(PhysicalAddress address, usize length) const override
    {
        u64 at = address.get();
        if (at == kEbdaSegmentPointer && length <= sizeof kEbdaSegment)
            return ByteReader(reinterpret_cast<const u8*>(&kEbdaSegment), length);
        if (at < kEbda || at - kEbda > m_low.size() || length > m_low.size() - (at - kEbda))
            return nullopt;
        return ByteReader(m_low.data() + (at - kEbda), length);
    }

    // The input at the EBDA, and its last KiB (in 16-byte steps, as the
    // scan goes) at the end of the BIOS area; zeros elsewhere.
    void fill(const u8* data, size_t size)
    {
        std::fill(m_low.begin(), m_low.end(), 0);
        size_t head = size < m_low.size() ? size : m_low.size();
        if (head)
            std::memcpy(m_low.data(), data, head);
        size_t tail = (size < 1024 ? size : 1024) & ~size_t { 15 };
        if (tail)
            std::memcpy(m_low.data() + m_low.size() - tail, data + size - tail, tail);
    }

    const std::vector<u8>& low() const { return m_low; }

private:
    std::vector<u8> m_low;
};

void search(const u8* data, size_t size)
{
    static BiosMemory memory;
    memory.fill(data, size);
    auto root = find_rsdp(memory);
    if (root)
        FUZZ_CHECK(found_in(*root, memory.low(), size));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    parse(data, size);
    std::vector<u8> fixed(data, data + size);
    fuzz::fix_checksum(fixed.data(), fixed.size(), kV1ChecksumAt, kV1Length);
    u32 length = fuzz::load<u32>(fixed.data(), fixed.size(), kLengthAt);
    if (length <= fixed.size())
        fuzz::fix_checksum(fixed.data(), fixed.size(), kExtendedChecksumAt, length);
    parse(fixed.data(), fixed.size());
    // The search reads 8,000 candidates (about a millisecond here): only
    // worth it when there is a signature for it to find.
    if (fixed.size() >= 8 && memmem(fixed.data(), fixed.size(), "RSD PTR ", 8) != nullptr)
        search(fixed.data(), fixed.size());
    return 0;
}
