#include "microkernel/boot/multiboot1.hpp"

#include "fake_physical_memory.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace herald;

namespace {

using FakeMemory = test::FakePhysicalMemory;

// Multiboot 0.6.96 §3.3 info structure offsets and flags.
constexpr u32 kFlagMemory = 1u << 0;
constexpr u32 kFlagCommandLine = 1u << 2;
constexpr u32 kFlagModules = 1u << 3;
constexpr u32 kFlagMemoryMap = 1u << 6;
constexpr u32 kFlagBootLoaderName = 1u << 9;

constexpr u64 kInfo = 0x9000;
constexpr u64 kCommandLine = 0x9100;
constexpr u64 kLoaderName = 0x9200;
constexpr u64 kModules = 0x9300;
constexpr u64 kModuleName = 0x9400;
constexpr u64 kMemoryMap = 0x9500;

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

// Writes the memory map QEMU would, each entry `entry_size` bytes after its
// size field; returns mmap_length.
u32 put_memory_map(FakeMemory& memory, u64 address, const std::vector<MemoryMapEntry>& entries, u32 entry_size = 20)
{
    u64 cursor = address;
    for (const auto& entry : entries) {
        memory.put_u32(cursor, entry_size);
        memory.put_u64(cursor + 4, entry.base);
        memory.put_u64(cursor + 12, entry.length);
        memory.put_u32(cursor + 20, entry.type);
        cursor += 4 + entry_size;
    }
    return static_cast<u32>(cursor - address);
}

// An info structure like QEMU's -kernel loader builds, with one module.
FakeMemory qemu_like_memory()
{
    FakeMemory memory(2 * MiB);
    memory.put_u32(kInfo + 0, kFlagMemory | kFlagCommandLine | kFlagModules | kFlagMemoryMap | kFlagBootLoaderName);
    memory.put_u32(kInfo + 4, 639);
    memory.put_u32(kInfo + 8, 130048);
    memory.put_u32(kInfo + 16, kCommandLine);
    memory.put_string(kCommandLine, "/boot/herald console=serial");
    memory.put_u32(kInfo + 20, 1);
    memory.put_u32(kInfo + 24, kModules);
    memory.put_u32(kModules + 0, 0x110000);
    memory.put_u32(kModules + 4, 0x12a345);
    memory.put_u32(kModules + 8, kModuleName);
    memory.put_string(kModuleName, "herald.archive");
    memory.put_u32(kInfo + 44, put_memory_map(memory, kMemoryMap, kQemuMemoryMap));
    memory.put_u32(kInfo + 48, kMemoryMap);
    memory.put_u32(kInfo + 64, kLoaderName);
    memory.put_string(kLoaderName, "qemu");
    return memory;
}

std::string view_string(StringView view) { return std::string(view.chars(), view.length()); }

Error parse_error(const FakeMemory& memory, u64 info_address = kInfo)
{
    BootInfo info;
    return parse_multiboot1(memory, PhysicalAddress(info_address), info).error();
}

} // namespace

TEST_CASE("multiboot1 parses a QEMU-like info structure")
{
    auto memory = qemu_like_memory();
    BootInfo info;
    REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());

    CHECK(info.protocol == BootProtocol::Multiboot1);
    CHECK(view_string(info.command_line_view()) == "/boot/herald console=serial");
    CHECK(view_string(info.loader_name_view()) == "qemu");
    REQUIRE(info.module_count == 1);
    CHECK(info.modules[0].start.get() == 0x110000);
    CHECK(info.modules[0].end.get() == 0x12a345);
    CHECK(view_string(info.modules[0].name_view()) == "herald.archive");

    // The map wins over mem_lower/mem_upper when both are there.
    REQUIRE(info.memory_count == kQemuMemoryMap.size());
    CHECK_FALSE(info.memory_truncated);
    for (usize i = 0; i < kQemuMemoryMap.size(); ++i) {
        CHECK(info.memory[i].base.get() == kQemuMemoryMap[i].base);
        CHECK(info.memory[i].length == kQemuMemoryMap[i].length);
        CHECK(static_cast<u32>(info.memory[i].type) == kQemuMemoryMap[i].type);
    }
    CHECK_FALSE(info.acpi.has_value());
}

TEST_CASE("multiboot1 ignores fields whose flag is clear")
{
    auto memory = qemu_like_memory();
    memory.put_u32(kInfo, kFlagMemoryMap);
    BootInfo info;
    REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());
    CHECK(info.command_line_view().is_empty());
    CHECK(info.loader_name_view().is_empty());
    CHECK(info.module_count == 0);
    CHECK(info.memory_count == kQemuMemoryMap.size());
}

TEST_CASE("multiboot1 steps by each entry's size field")
{
    auto memory = qemu_like_memory();
    memory.put_u32(kInfo + 44, put_memory_map(memory, kMemoryMap, kQemuMemoryMap, 28));
    BootInfo info;
    REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());
    REQUIRE(info.memory_count == kQemuMemoryMap.size());
    CHECK(info.memory[5].base.get() == 0xfffc0000);
    CHECK(info.memory[5].type == MemoryType::Reserved);
}

TEST_CASE("multiboot1 synthesizes a memory map from mem_lower and mem_upper")
{
    auto memory = qemu_like_memory();
    memory.put_u32(kInfo, kFlagMemory);
    BootInfo info;
    REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());
    REQUIRE(info.memory_count == 2);
    CHECK(info.memory[0].base.get() == 0);
    CHECK(info.memory[0].length == 639 * KiB);
    CHECK(info.memory[0].type == MemoryType::Usable);
    CHECK(info.memory[1].base.get() == 1 * MiB);
    CHECK(info.memory[1].length == 130048 * KiB);
    CHECK(info.memory[1].type == MemoryType::Usable);
}

TEST_CASE("multiboot1 needs some description of memory")
{
    auto memory = qemu_like_memory();
    memory.put_u32(kInfo, kFlagCommandLine | kFlagBootLoaderName);
    CHECK(parse_error(memory) == Error::NotFound);
}

TEST_CASE("multiboot1 refuses pointers outside memory")
{
    auto memory = qemu_like_memory();

    SECTION("info structure")
    {
        CHECK(parse_error(memory, memory.size() - 16) == Error::OutOfRange);
        CHECK(parse_error(memory, 0xffff'ffff'ffff'fff0) == Error::OutOfRange);
    }
    SECTION("command line")
    {
        memory.put_u32(kInfo + 16, 0x300000);
        CHECK(parse_error(memory) == Error::OutOfRange);
    }
    SECTION("boot loader name")
    {
        memory.put_u32(kInfo + 64, 0xffffffff);
        CHECK(parse_error(memory) == Error::OutOfRange);
    }
    SECTION("module table")
    {
        memory.put_u32(kInfo + 24, static_cast<u32>(memory.size() - 8));
        CHECK(parse_error(memory) == Error::OutOfRange);
    }
    SECTION("module name")
    {
        memory.put_u32(kModules + 8, 0x400000);
        CHECK(parse_error(memory) == Error::OutOfRange);
    }
    SECTION("memory map running off the end")
    {
        memory.put_u32(kInfo + 48, static_cast<u32>(memory.size() - 40));
        CHECK(parse_error(memory) == Error::OutOfRange);
    }
}

TEST_CASE("multiboot1 rejects malformed memory maps and modules")
{
    auto memory = qemu_like_memory();

    SECTION("entry size below 20")
    {
        memory.put_u32(kMemoryMap + 24, 16); // second entry
        CHECK(parse_error(memory) == Error::BadLength);
    }
    SECTION("last entry cut off by mmap_length")
    {
        memory.put_u32(kInfo + 44, 24 * 6 - 4);
        CHECK(parse_error(memory) == Error::Truncated);
    }
    SECTION("mmap_length leaving a stub shorter than a size field")
    {
        memory.put_u32(kInfo + 44, 24 * 6 + 2);
        CHECK(parse_error(memory) == Error::Truncated);
    }
    SECTION("module ending before it starts")
    {
        memory.put_u32(kModules + 4, 0x100000);
        CHECK(parse_error(memory) == Error::BadLength);
    }
    SECTION("too many modules")
    {
        memory.put_u32(kInfo + 20, BootInfo::kMaxModules + 1);
        CHECK(parse_error(memory) == Error::TooMany);
    }
}

TEST_CASE("multiboot1 keeps the first 128 memory regions and flags the rest")
{
    auto memory = qemu_like_memory();
    std::vector<MemoryMapEntry> entries;
    for (u64 i = 0; i < 150; ++i)
        entries.push_back({ i * 0x10000, 0x10000, 1 });
    memory.put_u32(kInfo + 44, put_memory_map(memory, 0x10000, entries));
    memory.put_u32(kInfo + 48, 0x10000);
    BootInfo info;
    REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());
    CHECK(info.memory_count == BootInfo::kMaxMemoryRegions);
    CHECK(info.memory_truncated);
    CHECK(info.memory[127].base.get() == 127 * 0x10000);
}

TEST_CASE("multiboot1 reads strings that end at the edge of memory")
{
    auto memory = qemu_like_memory();
    u64 end = memory.size();

    SECTION("terminated string in the last bytes")
    {
        memory.put_string(end - 7, "serial");
        memory.put_u32(kInfo + 16, static_cast<u32>(end - 7));
        BootInfo info;
        REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());
        CHECK(view_string(info.command_line_view()) == "serial");
    }
    SECTION("unterminated string cut off by the end of memory")
    {
        memory.put_bytes(end - 3, "xyz");
        memory.put_u32(kInfo + 64, static_cast<u32>(end - 3));
        BootInfo info;
        REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());
        CHECK(view_string(info.loader_name_view()) == "xyz");
    }
    SECTION("overlong string is truncated to the buffer")
    {
        memory.put_string(0x20000, std::string(BootInfo::kMaxCommandLine + 500, 'a'));
        memory.put_u32(kInfo + 16, 0x20000);
        BootInfo info;
        REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());
        CHECK(view_string(info.command_line_view()) == std::string(BootInfo::kMaxCommandLine - 1, 'a'));
    }
    SECTION("null string pointer is an empty string")
    {
        memory.put_u32(kModules + 8, 0);
        BootInfo info;
        REQUIRE_FALSE(parse_multiboot1(memory, PhysicalAddress(kInfo), info).is_error());
        CHECK(info.modules[0].name_view().is_empty());
    }
}
