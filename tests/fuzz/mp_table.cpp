// Fuzzes the Intel MultiProcessor Specification parsers (microkernel/acpi/mp_table.cpp):
// the floating pointer, the BIOS search for it, reading the configuration
// table it points to, and the configuration table parser.
//
// Input: physical memory in the "regions" format (fuzz.hpp), so that a seed
// holds real tables at their real addresses; a BIOS data area is added that
// points the EBDA at 0x9FC00 with 639 KiB of base memory, as SeaBIOS and
// qboot set it. Searched as given, then again with the checksum of every
// region that starts with "_MP_" or "PCMP" made right.
#include "microkernel/acpi/mp_table.hpp"
#include "topology_checks.hpp"

#include <memory>

using namespace herald;

namespace {

constexpr u64 kBiosDataArea = 0x400;
constexpr size_t kBiosDataSize = 0x100;
constexpr size_t kEbdaSegmentAt = 0x0E; // 0x40E
constexpr size_t kBaseMemoryKibAt = 0x13; // 0x413
constexpr size_t kPointerSize = 16;
constexpr size_t kPointerChecksumAt = 10;
constexpr size_t kPointerLengthAt = 8;
constexpr size_t kConfigLengthAt = 4;
constexpr size_t kConfigChecksumAt = 7;

void check_parsed_table(ByteReader table, const PlatformTopology& topology)
{
    FUZZ_CHECK(topology.source == PlatformTopology::Source::MpTable);
    FUZZ_CHECK(topology.pcat_compat);
    FUZZ_CHECK(table.starts_with("PCMP", 4));
    u16 length = table.read<u16>(kConfigLengthAt).value();
    FUZZ_CHECK(length <= table.size());
    FUZZ_CHECK(table.slice(0, length)->checksum() == 0);
    // Only the first I/O APIC's GSI base is known (0); overrides go only
    // through I/O APICs whose base is known.
    for (usize i = 0; i < topology.io_apic_count; ++i)
        FUZZ_CHECK(topology.io_apics[i].gsi_base_known == (i == 0));
    for (usize i = 0; i < topology.override_count; ++i)
        FUZZ_CHECK(topology.overrides[i].gsi <= 0xFF); // base 0 plus a pin byte
}

void search(const fuzz::Memory& memory)
{
    auto pointer = find_mp_floating_pointer(memory);
    if (!pointer)
        return;
    auto bytes = memory.read(pointer->address, kPointerSize);
    FUZZ_CHECK(bytes && bytes->starts_with("_MP_", 4));
    FUZZ_CHECK(pointer->address.get() % 16 == 0);
    auto table = read_mp_config_table(memory, *pointer);
    if (table.is_error())
        return;
    FUZZ_CHECK(memory.holds(table.value().data(), table.value().size()));
    auto topology = std::make_unique<PlatformTopology>();
    auto result = parse_mp_config_table(table.value(), *topology);
    fuzz::check_topology(*topology);
    if (!result.is_error())
        check_parsed_table(table.value(), *topology);
}

// The first region on its own, as the kernel's parsers see a table that
// was already read.
void parse_alone(const std::vector<u8>& region)
{
    ByteReader bytes(region.data(), region.size());
    auto pointer = parse_mp_floating_pointer(bytes, PhysicalAddress(0));
    if (!pointer.is_error()) {
        usize length = bytes.read<u8>(kPointerLengthAt).value() * usize { 16 };
        FUZZ_CHECK(length >= kPointerSize && length <= region.size());
        FUZZ_CHECK(bytes.slice(0, length)->checksum() == 0);
    }
    auto topology = std::make_unique<PlatformTopology>();
    auto result = parse_mp_config_table(bytes, *topology);
    fuzz::check_topology(*topology);
    if (!result.is_error())
        check_parsed_table(bytes, *topology);
}

bool fix_checksums(fuzz::Memory& memory)
{
    bool changed = false;
    for (size_t i = 0; i < memory.region_count(); ++i) {
        std::vector<u8>& bytes = memory.region(i);
        u8* data = bytes.data();
        size_t size = bytes.size();
        u8 before = 0;
        if (size >= kPointerSize && std::memcmp(data, "_MP_", 4) == 0) {
            before = data[kPointerChecksumAt];
            fuzz::fix_checksum(data, size, kPointerChecksumAt, data[kPointerLengthAt] * size_t { 16 });
            changed = changed || before != data[kPointerChecksumAt];
        } else if (size > kConfigChecksumAt && std::memcmp(data, "PCMP", 4) == 0) {
            before = data[kConfigChecksumAt];
            fuzz::fix_checksum(data, size, kConfigChecksumAt, fuzz::load<u16>(data, size, kConfigLengthAt));
            changed = changed || before != data[kConfigChecksumAt];
        }
    }
    return changed;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::Memory memory;
    fuzz::add_regions(memory, data, size);
    bool any_region = memory.region_count() > 0;
    if (any_region)
        parse_alone(memory.region(0));
    std::vector<u8>& bda = memory.add(kBiosDataArea, kBiosDataSize);
    fuzz::store<u16>(bda.data(), bda.size(), kEbdaSegmentAt, 0x9FC0);
    fuzz::store<u16>(bda.data(), bda.size(), kBaseMemoryKibAt, 639);
    search(memory);
    if (fix_checksums(memory)) {
        if (any_region)
            parse_alone(memory.region(0));
        search(memory);
    }
    return 0;
}
