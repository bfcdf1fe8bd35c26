#include "microkernel/boot/rsdp.hpp"

#include "fake_physical_memory.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace herald;

namespace {

using FakeMemory = test::FakePhysicalMemory;

void put_u32(std::vector<u8>& bytes, usize offset, u32 value) { std::memcpy(&bytes.at(offset + 3) - 3, &value, 4); }
void put_u64(std::vector<u8>& bytes, usize offset, u64 value) { std::memcpy(&bytes.at(offset + 7) - 7, &value, 8); }

u8 byte_sum(const std::vector<u8>& bytes, usize length)
{
    u8 sum = 0;
    for (usize i = 0; i < length; ++i)
        sum = static_cast<u8>(sum + bytes[i]);
    return sum;
}

// Recomputes both checksums (ACPI 6.5 §5.2.5.3) after a test edits fields.
void fix_checksums(std::vector<u8>& rsdp)
{
    rsdp[8] = 0;
    rsdp[8] = static_cast<u8>(-byte_sum(rsdp, 20));
    if (rsdp[15] >= 2) {
        rsdp[32] = 0;
        rsdp[32] = static_cast<u8>(-byte_sum(rsdp, rsdp.size()));
    }
}

std::vector<u8> make_rsdp(u8 revision, u32 rsdt, u64 xsdt = 0, usize length = 36)
{
    std::vector<u8> bytes(revision >= 2 ? length : 20, 0);
    std::memcpy(bytes.data(), "RSD PTR ", 8);
    std::memcpy(bytes.data() + 9, "HERALD", 6);
    bytes[15] = revision;
    put_u32(bytes, 16, rsdt);
    if (revision >= 2) {
        put_u32(bytes, 20, static_cast<u32>(length));
        put_u64(bytes, 24, xsdt);
    }
    fix_checksums(bytes);
    return bytes;
}

Error parse_error(const std::vector<u8>& bytes) { return parse_rsdp(ByteReader(bytes.data(), bytes.size())).error(); }

constexpr u64 kEbdaSegmentPointer = 0x40E;
constexpr u16 kEbdaSegment = 0x9FC0; // SeaBIOS's EBDA at 0x9FC00
constexpr u64 kEbda = 0x9FC00;

} // namespace

TEST_CASE("parse_rsdp accepts ACPI 1.0 and 2.0 RSDPs")
{
    auto v1 = make_rsdp(0, 0x7fe14d5);
    auto root = parse_rsdp(ByteReader(v1.data(), v1.size()));
    REQUIRE_FALSE(root.is_error());
    CHECK(root.value().revision == 0);
    CHECK(root.value().rsdt_address == 0x7fe14d5);
    CHECK(root.value().xsdt_address == 0);
    CHECK(std::string(root.value().oem_id) == "HERALD");

    auto v2 = make_rsdp(2, 0x7fe14d5, 0x1'2345'6789);
    auto root2 = validate_rsdp(ByteReader(v2.data(), v2.size()));
    REQUIRE(root2.has_value());
    CHECK(root2->revision == 2);
    CHECK(root2->xsdt_address == 0x1'2345'6789);

    // A future, longer RSDP is checksummed over all of its Length.
    auto longer = make_rsdp(3, 1, 2, 40);
    CHECK(validate_rsdp(ByteReader(longer.data(), longer.size())).has_value());
    longer[38] ^= 0x40;
    CHECK(parse_error(longer) == Error::BadChecksum);
}

TEST_CASE("parse_rsdp rejects corrupt RSDPs")
{
    auto v2 = make_rsdp(2, 0x1000, 0x2000);

    SECTION("signature")
    {
        v2[4] = 'p';
        CHECK(parse_error(v2) == Error::BadMagic);
    }
    SECTION("checksum")
    {
        v2[16] ^= 1;
        CHECK(parse_error(v2) == Error::BadChecksum);
    }
    SECTION("extended checksum")
    {
        v2[24] ^= 1;
        CHECK(parse_error(v2) == Error::BadChecksum);
    }
    SECTION("length below 36")
    {
        put_u32(v2, 20, 35);
        fix_checksums(v2);
        CHECK(parse_error(v2) == Error::BadLength);
    }
    SECTION("length beyond the bytes given")
    {
        put_u32(v2, 20, 64);
        fix_checksums(v2);
        CHECK(parse_error(v2) == Error::Truncated);
    }
    SECTION("too short for the ACPI 1.0 part")
    {
        v2.resize(19);
        CHECK(parse_error(v2) == Error::Truncated);
    }
    SECTION("revision 2 without room for Length")
    {
        v2.resize(20);
        CHECK(parse_error(v2) == Error::Truncated);
    }
}

TEST_CASE("find_rsdp looks in the EBDA first")
{
    FakeMemory memory(2 * MiB);
    memory.put_u16(kEbdaSegmentPointer, kEbdaSegment);
    memory.put(kEbda + 0x80, make_rsdp(2, 0xaaaa, 0xbbbb));
    memory.put(0xF5000, make_rsdp(0, 0xcccc));
    auto root = find_rsdp(memory);
    REQUIRE(root.has_value());
    CHECK(root->rsdt_address == 0xaaaa);
    CHECK(root->xsdt_address == 0xbbbb);
}

TEST_CASE("find_rsdp searches only the first KiB of the EBDA")
{
    FakeMemory memory(2 * MiB);
    memory.put_u16(kEbdaSegmentPointer, 0x9000);
    memory.put(0x90000 + 1 * KiB, make_rsdp(0, 0xaaaa));
    CHECK_FALSE(find_rsdp(memory).has_value());
    memory.put(0x90000 + 1 * KiB - 32, make_rsdp(0, 0xdddd));
    auto root = find_rsdp(memory);
    REQUIRE(root.has_value());
    CHECK(root->rsdt_address == 0xdddd);
}

TEST_CASE("find_rsdp finds the RSDP in the BIOS area")
{
    FakeMemory memory(2 * MiB);
    memory.put_u16(kEbdaSegmentPointer, kEbdaSegment); // EBDA without an RSDP
    memory.put(0xF68D0, make_rsdp(0, 0x7fe14d5)); // where SeaBIOS puts it

    auto root = find_rsdp(memory);
    REQUIRE(root.has_value());
    CHECK(root->revision == 0);
    CHECK(root->rsdt_address == 0x7fe14d5);

    // The very last 16-byte slot still counts.
    FakeMemory top(2 * MiB);
    top.put(0xFFFF0, make_rsdp(0, 0x1234));
    auto at_top = find_rsdp(top);
    REQUIRE(at_top.has_value());
    CHECK(at_top->rsdt_address == 0x1234);
}

TEST_CASE("find_rsdp skips candidates that fail validation")
{
    FakeMemory memory(2 * MiB);
    auto decoy = make_rsdp(2, 0x1111, 0x2222);
    decoy[32] ^= 1; // extended checksum wrong
    memory.put(0xE0000, decoy);
    auto bad_signature = make_rsdp(0, 0x3333);
    bad_signature[0] = 'r';
    memory.put(0xE0040, bad_signature);
    memory.put(0xE0108, make_rsdp(0, 0x4444)); // not on a 16-byte boundary
    memory.put(0xE0200, make_rsdp(2, 0x5555, 0x6666));

    auto root = find_rsdp(memory);
    REQUIRE(root.has_value());
    CHECK(root->rsdt_address == 0x5555);
    CHECK(root->xsdt_address == 0x6666);
}

TEST_CASE("find_rsdp returns nothing when there is no RSDP")
{
    FakeMemory memory(2 * MiB);
    memory.put_u16(kEbdaSegmentPointer, kEbdaSegment);
    CHECK_FALSE(find_rsdp(memory).has_value());
}

TEST_CASE("find_rsdp copes with memory that ends inside the search areas")
{
    // Memory ends 24 bytes into the last slot, and the EBDA pointer aims
    // at that slot too, so its KiB runs off the end.
    FakeMemory memory(0xFFFF0 + 24);
    memory.put_u16(kEbdaSegmentPointer, 0xFFFF);
    // A revision-2 RSDP whose ACPI 1.0 part and Length are readable but
    // whose extended part lies past the end of memory.
    auto v2 = make_rsdp(2, 0x1, 0x2);
    memory.put(0xFFFF0, std::vector<u8>(v2.begin(), v2.begin() + 24));
    CHECK_FALSE(find_rsdp(memory).has_value());

    // The same RSDP as ACPI 1.0 needs only its first 20 bytes.
    memory.put(0xFFFF0, make_rsdp(0, 0x1));
    auto root = find_rsdp(memory);
    REQUIRE(root.has_value());
    CHECK(root->rsdt_address == 0x1);

    FakeMemory tiny(0x100); // neither the EBDA pointer nor the BIOS area exists
    CHECK_FALSE(find_rsdp(tiny).has_value());
}
