// Real firmware tables captured from QEMU (tools/dump-firmware-tables.sh),
// loaded at run time from HERALD_FIXTURE_DIR, and a fake physical memory
// that holds them at the addresses the firmware put them.
#pragma once

#include "microkernel/boot/physical_reader.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#ifndef HERALD_FIXTURE_DIR
#error "HERALD_FIXTURE_DIR must name tests/host/fixtures"
#endif

namespace herald::fixtures {

struct Table {
    std::string name;
    u64 address { 0 };
    std::vector<u8> bytes;
};

struct Fixture {
    std::string name;
    usize cpu_count { 0 }; // the -smp the tables were captured with
    std::vector<Table> tables;

    const Table& table(const std::string& table_name) const
    {
        for (const Table& table : tables) {
            if (table.name == table_name)
                return table;
        }
        FAIL("fixture " << name << " has no table " << table_name);
        return tables.front();
    }
};

inline std::vector<u8> read_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    REQUIRE(file.good());
    return std::vector<u8>(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

inline Fixture load(const std::string& name, usize cpu_count)
{
    std::string directory = std::string(HERALD_FIXTURE_DIR) + "/" + name;
    std::ifstream list(directory + "/tables.txt");
    REQUIRE(list.good());
    Fixture fixture { name, cpu_count, {} };
    std::string line;
    while (std::getline(list, line)) {
        std::istringstream fields(line);
        std::string table_name, address;
        usize length = 0;
        if (!(fields >> table_name >> address >> length))
            continue;
        Table table { table_name, std::stoull(address, nullptr, 16), read_file(directory + "/" + table_name + ".bin") };
        REQUIRE(table.bytes.size() == length);
        fixture.tables.push_back(std::move(table));
    }
    REQUIRE(fixture.tables.size() >= 8);
    return fixture;
}

inline std::vector<Fixture> load_all()
{
    std::vector<Fixture> all;
    for (const char* firmware : { "qboot", "seabios" }) {
        for (usize cpus : { 1, 4, 16, 64 })
            all.push_back(load(std::string(firmware) + "-smp" + std::to_string(cpus), cpus));
    }
    return all;
}

// Every fixture, loaded once per test run.
inline const std::vector<Fixture>& all_fixtures()
{
    static const std::vector<Fixture> fixtures = load_all();
    return fixtures;
}

inline const Fixture& fixture_named(const std::string& name)
{
    for (const Fixture& fixture : all_fixtures()) {
        if (fixture.name == name)
            return fixture;
    }
    FAIL("no fixture " << name);
    return all_fixtures().front();
}

// Sparse physical memory: a few zero-filled regions; a read succeeds only
// inside one region, so anything else reads as "not there".
class Memory final : public PhysicalReader {
public:
    void add_region(u64 base, usize size) { m_regions.push_back({ base, std::vector<u8>(size, 0) }); }

    Optional<ByteReader> read(PhysicalAddress address, usize length) const override
    {
        for (const Region& region : m_regions) {
            u64 offset = address.get() - region.base;
            if (address.get() >= region.base && offset <= region.bytes.size() && length <= region.bytes.size() - offset)
                return ByteReader(region.bytes.data() + offset, length);
        }
        return nullopt;
    }

    void put(u64 address, const std::vector<u8>& bytes)
    {
        for (Region& region : m_regions) {
            u64 offset = address - region.base;
            if (address >= region.base && offset + bytes.size() <= region.bytes.size()) {
                std::memcpy(region.bytes.data() + offset, bytes.data(), bytes.size());
                return;
            }
        }
        FAIL("no memory region holds " << bytes.size() << " bytes at " << address);
    }
    void put_u16(u64 address, u16 value) { put(address, { static_cast<u8>(value), static_cast<u8>(value >> 8) }); }

private:
    struct Region {
        u64 base;
        std::vector<u8> bytes;
    };
    std::vector<Region> m_regions;
};

inline constexpr u64 kLowMemorySize = 0x100000;
inline constexpr u64 kEbdaSegmentPointer = 0x40E;
inline constexpr u64 kBaseMemoryKibPointer = 0x413;

// The first MiB (with the BIOS data area as SeaBIOS and qboot set it: EBDA
// at 0x9FC00, 639 KiB of base memory) and a region around the tables above
// it, with every table of the fixture in place.
inline void build_memory(Memory& memory, const Fixture& fixture)
{
    memory.add_region(0, kLowMemorySize);
    u64 high_start = ~u64(0), high_end = 0;
    for (const Table& table : fixture.tables) {
        if (table.address >= kLowMemorySize) {
            high_start = std::min(high_start, table.address);
            high_end = std::max<u64>(high_end, table.address + table.bytes.size());
        }
    }
    if (high_end != 0)
        memory.add_region(high_start & ~u64(0xFFF), ((high_end + 0xFFF) & ~u64(0xFFF)) - (high_start & ~u64(0xFFF)));
    memory.put_u16(kEbdaSegmentPointer, 0x9FC0);
    memory.put_u16(kBaseMemoryKibPointer, 639);
    for (const Table& table : fixture.tables)
        memory.put(table.address, table.bytes);
}

inline u8 byte_sum(const std::vector<u8>& bytes, usize start, usize length)
{
    u8 sum = 0;
    for (usize i = start; i < start + length && i < bytes.size(); ++i)
        sum = static_cast<u8>(sum + bytes[i]);
    return sum;
}

// Makes bytes [0, length) sum to zero by adjusting the byte at checksum_offset.
inline void fix_checksum(std::vector<u8>& bytes, usize checksum_offset, usize length)
{
    bytes.at(checksum_offset) = 0;
    bytes.at(checksum_offset) = static_cast<u8>(-byte_sum(bytes, 0, length));
}

inline void put_u16(std::vector<u8>& bytes, usize offset, u16 value) { std::memcpy(&bytes.at(offset + 1) - 1, &value, 2); }
inline void put_u32(std::vector<u8>& bytes, usize offset, u32 value) { std::memcpy(&bytes.at(offset + 3) - 3, &value, 4); }
inline void put_u64(std::vector<u8>& bytes, usize offset, u64 value) { std::memcpy(&bytes.at(offset + 7) - 7, &value, 8); }

inline u32 get_u32(const std::vector<u8>& bytes, usize offset)
{
    u32 value;
    std::memcpy(&value, &bytes.at(offset + 3) - 3, 4);
    return value;
}

} // namespace herald::fixtures
