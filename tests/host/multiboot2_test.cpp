#include "microkernel/boot/multiboot2.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace herald;

namespace {

// Appends little-endian integers and raw bytes to a byte vector.
void put_u32(std::vector<u8>& bytes, u32 value)
{
    for (int i = 0; i < 4; ++i)
        bytes.push_back(static_cast<u8>(value >> (8 * i)));
}

void put_u64(std::vector<u8>& bytes, u64 value)
{
    put_u32(bytes, static_cast<u32>(value));
    put_u32(bytes, static_cast<u32>(value >> 32));
}

void put_string(std::vector<u8>& bytes, const std::string& text, bool terminate = true)
{
    bytes.insert(bytes.end(), text.begin(), text.end());
    if (terminate)
        bytes.push_back(0);
}

// An RSDP with correct checksums, as firmware would write it (ACPI 6.5 §5.2.5.3).
std::vector<u8> make_rsdp(u8 revision, u32 rsdt, u64 xsdt = 0, const char* oem = "BOCHS ")
{
    std::vector<u8> bytes;
    put_string(bytes, "RSD PTR ", false);
    bytes.push_back(0); // checksum, fixed below
    bytes.insert(bytes.end(), oem, oem + 6);
    bytes.push_back(revision);
    put_u32(bytes, rsdt);
    if (revision >= 2) {
        put_u32(bytes, 36);
        put_u64(bytes, xsdt);
        bytes.push_back(0); // extended checksum, fixed below
        bytes.insert(bytes.end(), 3, 0);
    }
    u8 sum = 0;
    for (usize i = 0; i < 20; ++i)
        sum = static_cast<u8>(sum + bytes[i]);
    bytes[8] = static_cast<u8>(-sum);
    if (revision >= 2) {
        sum = 0;
        for (u8 byte : bytes)
            sum = static_cast<u8>(sum + byte);
        bytes[32] = static_cast<u8>(-sum);
    }
    return bytes;
}

struct MemoryMapEntry {
    u64 base;
    u64 length;
    u32 type;
};

// What QEMU's SeaBIOS reports for a 128 MiB guest.
const std::vector<MemoryMapEntry> kQemuMemoryMap = {
    { 0x0, 0x9fc00, 1 },
    { 0x9fc00, 0x400, 2 },
    { 0xf0000, 0x10000, 2 },
    { 0x100000, 0x7ee0000, 1 },
    { 0x7fe0000, 0x20000, 2 },
    { 0xfffc0000, 0x40000, 2 },
};

// Builds a Multiboot2 information block tag by tag (Multiboot2 spec §3.6).
class InfoBuilder {
public:
    InfoBuilder() { m_bytes.resize(8); }

    InfoBuilder& tag(u32 type, const std::vector<u8>& payload)
    {
        return raw_tag(type, static_cast<u32>(8 + payload.size()), payload);
    }

    // A tag whose size field may lie about its payload.
    InfoBuilder& raw_tag(u32 type, u32 size, const std::vector<u8>& payload)
    {
        m_bytes.resize((m_bytes.size() + 7) & ~usize { 7 });
        put_u32(m_bytes, type);
        put_u32(m_bytes, size);
        m_bytes.insert(m_bytes.end(), payload.begin(), payload.end());
        return *this;
    }

    InfoBuilder& string_tag(u32 type, const std::string& text, bool terminate = true)
    {
        std::vector<u8> payload;
        put_string(payload, text, terminate);
        return tag(type, payload);
    }
    InfoBuilder& command_line(const std::string& text) { return string_tag(1, text); }
    InfoBuilder& loader_name(const std::string& text) { return string_tag(2, text); }

    InfoBuilder& module(u32 start, u32 end, const std::string& name)
    {
        std::vector<u8> payload;
        put_u32(payload, start);
        put_u32(payload, end);
        put_string(payload, name);
        return tag(3, payload);
    }

    InfoBuilder& memory_map(const std::vector<MemoryMapEntry>& entries, u32 entry_size = 24)
    {
        std::vector<u8> payload;
        put_u32(payload, entry_size);
        put_u32(payload, 0);
        for (const auto& entry : entries) {
            usize start = payload.size();
            put_u64(payload, entry.base);
            put_u64(payload, entry.length);
            put_u32(payload, entry.type);
            payload.resize(start + entry_size, 0);
        }
        return tag(6, payload);
    }

    InfoBuilder& rsdp_old(const std::vector<u8>& rsdp) { return tag(14, rsdp); }
    InfoBuilder& rsdp_new(const std::vector<u8>& rsdp) { return tag(15, rsdp); }
    InfoBuilder& end() { return tag(0, {}); }

    // The finished block with total_size filled in, or `total_size_override`.
    std::vector<u8> build(Optional<u32> total_size_override = nullopt) const
    {
        std::vector<u8> bytes = m_bytes;
        u32 total_size = total_size_override.value_or(static_cast<u32>(bytes.size()));
        std::memcpy(bytes.data(), &total_size, 4);
        return bytes;
    }

private:
    std::vector<u8> m_bytes;
};

// The loader's block lives 8-byte aligned (§3.6.1); std::vector<u8> only
// promises that by accident, so parse from u64 storage.
ErrorOr<void> parse(const std::vector<u8>& bytes, BootInfo& info, usize misalignment = 0)
{
    static std::vector<u64> storage;
    storage.assign(bytes.size() / 8 + 2, 0);
    auto* start = reinterpret_cast<u8*>(storage.data()) + misalignment;
    std::memcpy(start, bytes.data(), bytes.size());
    return parse_multiboot2(ByteReader(start, bytes.size()), info);
}

Error parse_error(const std::vector<u8>& bytes)
{
    BootInfo info;
    auto result = parse(bytes, info);
    return result.error();
}

InfoBuilder minimal() { return InfoBuilder().memory_map(kQemuMemoryMap); }

std::string view_string(StringView view) { return std::string(view.chars(), view.length()); }

} // namespace

TEST_CASE("multiboot2 parses a GRUB-like information block")
{
    auto bytes = InfoBuilder()
                     .command_line("herald console=serial log=debug")
                     .loader_name("GRUB 2.12-1")
                     .tag(4, { 0x7f, 0x02, 0, 0, 0x80, 0xfb, 0x01, 0 }) // basic meminfo, ignored
                     .tag(5, { 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }) // boot device, unknown
                     .module(0x200000, 0x2a1000, "/boot/herald.archive root")
                     .memory_map(kQemuMemoryMap)
                     .rsdp_old(make_rsdp(0, 0x7fe1234))
                     .rsdp_new(make_rsdp(2, 0x7fe1234, 0x7fe5678))
                     .end()
                     .build();
    BootInfo info;
    auto result = parse(bytes, info);
    REQUIRE_FALSE(result.is_error());

    CHECK(info.protocol == BootProtocol::Multiboot2);
    CHECK(view_string(info.command_line_view()) == "herald console=serial log=debug");
    CHECK(view_string(info.loader_name_view()) == "GRUB 2.12-1");

    REQUIRE(info.module_count == 1);
    CHECK(info.modules[0].start.get() == 0x200000);
    CHECK(info.modules[0].end.get() == 0x2a1000);
    CHECK(view_string(info.modules[0].name_view()) == "/boot/herald.archive root");

    REQUIRE(info.memory_count == kQemuMemoryMap.size());
    CHECK_FALSE(info.memory_truncated);
    for (usize i = 0; i < kQemuMemoryMap.size(); ++i) {
        CHECK(info.memory[i].base.get() == kQemuMemoryMap[i].base);
        CHECK(info.memory[i].length == kQemuMemoryMap[i].length);
        CHECK(static_cast<u32>(info.memory[i].type) == kQemuMemoryMap[i].type);
    }

    REQUIRE(info.acpi.has_value());
    CHECK(info.acpi->revision == 2);
    CHECK(info.acpi->rsdt_address == 0x7fe1234);
    CHECK(info.acpi->xsdt_address == 0x7fe5678);
    CHECK(std::string(info.acpi->oem_id) == "BOCHS ");
}

TEST_CASE("multiboot2 prefers the new RSDP tag whichever comes first")
{
    BootInfo info;
    auto new_first = minimal().rsdp_new(make_rsdp(2, 0x2000, 0x3000)).rsdp_old(make_rsdp(0, 0x1000)).end().build();
    REQUIRE_FALSE(parse(new_first, info).is_error());
    REQUIRE(info.acpi.has_value());
    CHECK(info.acpi->xsdt_address == 0x3000);
    CHECK(info.acpi->rsdt_address == 0x2000);

    auto old_only = minimal().rsdp_old(make_rsdp(0, 0x1000)).end().build();
    REQUIRE_FALSE(parse(old_only, info).is_error());
    REQUIRE(info.acpi.has_value());
    CHECK(info.acpi->revision == 0);
    CHECK(info.acpi->rsdt_address == 0x1000);
    CHECK(info.acpi->xsdt_address == 0);

    auto none = minimal().end().build();
    REQUIRE_FALSE(parse(none, info).is_error());
    CHECK_FALSE(info.acpi.has_value());
}

TEST_CASE("multiboot2 drops corrupt RSDP copies and keeps a good one")
{
    auto bad_checksum = make_rsdp(2, 0x2000, 0x3000);
    bad_checksum[8] ^= 1;
    auto bad_signature = make_rsdp(2, 0x2000, 0x3000);
    bad_signature[0] = 'X';
    auto bad_extended_checksum = make_rsdp(2, 0x2000, 0x3000);
    bad_extended_checksum[32] ^= 1;
    auto short_length = make_rsdp(2, 0x2000, 0x3000);
    short_length[20] = 20; // breaks the extended checksum too, but Length is checked first
    auto cut_short = make_rsdp(2, 0x2000, 0x3000);
    cut_short.resize(30); // Length says 36, the tag holds 30

    for (const auto& rsdp : { bad_checksum, bad_signature, bad_extended_checksum, short_length, cut_short }) {
        BootInfo info;
        auto alone = minimal().rsdp_new(rsdp).end().build();
        REQUIRE_FALSE(parse(alone, info).is_error());
        CHECK_FALSE(info.acpi.has_value());

        auto with_old = minimal().rsdp_new(rsdp).rsdp_old(make_rsdp(0, 0x1000)).end().build();
        REQUIRE_FALSE(parse(with_old, info).is_error());
        REQUIRE(info.acpi.has_value());
        CHECK(info.acpi->rsdt_address == 0x1000);
    }
}

TEST_CASE("multiboot2 rejects a bad fixed part")
{
    auto good = minimal().end().build();
    BootInfo info;

    SECTION("block shorter than total_size says")
    {
        std::vector<u8> cut(good.begin(), good.end() - 8);
        CHECK(parse_error(cut) == Error::Truncated);
    }
    SECTION("total_size smaller than the block")
    {
        CHECK(parse_error(minimal().end().build(static_cast<u32>(good.size() - 8))) == Error::BadLength);
    }
    SECTION("total_size below the fixed part")
    {
        CHECK(parse_error(minimal().end().build(4)) == Error::BadLength);
    }
    SECTION("block too small to hold total_size")
    {
        std::vector<u8> tiny = { 8, 0 };
        CHECK(parse_error(tiny) == Error::Truncated);
    }
    SECTION("misaligned block")
    {
        CHECK(parse(good, info, 4).error() == Error::BadAlignment);
        CHECK_FALSE(parse(good, info, 0).is_error());
    }
}

TEST_CASE("multiboot2 rejects broken tags")
{
    SECTION("tag running past the end of the block")
    {
        auto bytes = minimal().raw_tag(1, 64, { 'a', 0 }).end().build();
        // The lying tag swallows the end tag and more.
        CHECK(parse_error(bytes) == Error::Truncated);
    }
    SECTION("tag size below the header size")
    {
        CHECK(parse_error(minimal().raw_tag(1, 4, {}).end().build()) == Error::BadLength);
    }
    SECTION("missing end tag")
    {
        CHECK(parse_error(minimal().build()) == Error::Truncated);
    }
    SECTION("missing memory map")
    {
        CHECK(parse_error(InfoBuilder().command_line("x").end().build()) == Error::NotFound);
    }
    SECTION("memory map entry_size too small")
    {
        CHECK(parse_error(InfoBuilder().memory_map(kQemuMemoryMap, 16).end().build()) == Error::BadLength);
    }
    SECTION("memory map entry_size not a multiple of 8")
    {
        CHECK(parse_error(InfoBuilder().memory_map(kQemuMemoryMap, 28).end().build()) == Error::BadAlignment);
    }
    SECTION("memory map with a partial last entry")
    {
        std::vector<u8> payload;
        put_u32(payload, 24);
        put_u32(payload, 0);
        payload.resize(8 + 24 + 12);
        CHECK(parse_error(InfoBuilder().tag(6, payload).end().build()) == Error::Truncated);
    }
    SECTION("module ending before it starts")
    {
        CHECK(parse_error(minimal().module(0x300000, 0x200000, "m").end().build()) == Error::BadLength);
    }
    SECTION("module tag too short for its addresses")
    {
        CHECK(parse_error(minimal().tag(3, { 0, 0, 0x20, 0 }).end().build()) == Error::Truncated);
    }
}

TEST_CASE("multiboot2 honours a larger memory map entry_size")
{
    BootInfo info;
    auto bytes = InfoBuilder().memory_map(kQemuMemoryMap, 32).end().build();
    REQUIRE_FALSE(parse(bytes, info).is_error());
    REQUIRE(info.memory_count == kQemuMemoryMap.size());
    CHECK(info.memory[3].base.get() == 0x100000);
    CHECK(info.memory[3].length == 0x7ee0000);
    CHECK(info.memory[3].type == MemoryType::Usable);
}

TEST_CASE("multiboot2 maps unknown memory types to Reserved")
{
    BootInfo info;
    auto bytes = InfoBuilder().memory_map({ { 0x1000, 0x1000, 7 }, { 0x2000, 0x1000, 0 }, { 0x3000, 0x1000, 5 } }).end().build();
    REQUIRE_FALSE(parse(bytes, info).is_error());
    REQUIRE(info.memory_count == 3);
    CHECK(info.memory[0].type == MemoryType::Reserved);
    CHECK(info.memory[1].type == MemoryType::Reserved);
    CHECK(info.memory[2].type == MemoryType::BadMemory);
}

TEST_CASE("multiboot2 keeps the first 128 memory regions and flags the rest")
{
    std::vector<MemoryMapEntry> entries;
    for (u64 i = 0; i < 200; ++i)
        entries.push_back({ i * 0x10000, 0x10000, 1 });
    BootInfo info;
    REQUIRE_FALSE(parse(InfoBuilder().memory_map(entries).end().build(), info).is_error());
    CHECK(info.memory_count == BootInfo::kMaxMemoryRegions);
    CHECK(info.memory_truncated);
    CHECK(info.memory[127].base.get() == 127 * 0x10000);

    std::vector<MemoryMapEntry> exactly_full(entries.begin(), entries.begin() + 128);
    REQUIRE_FALSE(parse(InfoBuilder().memory_map(exactly_full).end().build(), info).is_error());
    CHECK(info.memory_count == 128);
    CHECK_FALSE(info.memory_truncated);
}

TEST_CASE("multiboot2 clamps a region that would wrap past 2^64")
{
    BootInfo info;
    auto bytes = InfoBuilder().memory_map({ { 0xffff'ffff'ffff'0000, 0x100000, 2 } }).end().build();
    REQUIRE_FALSE(parse(bytes, info).is_error());
    REQUIRE(info.memory_count == 1);
    CHECK(info.memory[0].length == 0x10000);
}

TEST_CASE("multiboot2 refuses more modules than fit")
{
    auto builder = minimal();
    for (usize i = 0; i < BootInfo::kMaxModules; ++i)
        builder.module(0x200000, 0x201000, "m");
    BootInfo info;
    REQUIRE_FALSE(parse(InfoBuilder(builder).end().build(), info).is_error());
    CHECK(info.module_count == BootInfo::kMaxModules);

    builder.module(0x200000, 0x201000, "one too many");
    CHECK(parse_error(builder.end().build()) == Error::TooMany);
}

TEST_CASE("multiboot2 copies unterminated and overlong strings safely")
{
    std::string long_line(BootInfo::kMaxCommandLine + 144, 'c');
    std::string long_name(200, 'n');
    auto bytes = minimal()
                     .string_tag(1, long_line, false)
                     .string_tag(2, "GRUB", false)
                     .module(0x200000, 0x201000, long_name)
                     .end()
                     .build();
    BootInfo info;
    REQUIRE_FALSE(parse(bytes, info).is_error());
    CHECK(view_string(info.command_line_view()) == std::string(BootInfo::kMaxCommandLine - 1, 'c'));
    CHECK(view_string(info.loader_name_view()) == "GRUB");
    CHECK(view_string(info.modules[0].name_view()) == std::string(sizeof(info.modules[0].name) - 1, 'n'));
}

TEST_CASE("multiboot2 resets what an earlier parse left behind")
{
    BootInfo info;
    REQUIRE_FALSE(parse(minimal().command_line("old").module(1, 2, "m").rsdp_old(make_rsdp(0, 1)).end().build(), info).is_error());
    REQUIRE(info.module_count == 1);
    REQUIRE_FALSE(parse(minimal().end().build(), info).is_error());
    CHECK(info.module_count == 0);
    CHECK(info.command_line_view().is_empty());
    CHECK_FALSE(info.acpi.has_value());
    CHECK(info.memory_count == kQemuMemoryMap.size());
}
