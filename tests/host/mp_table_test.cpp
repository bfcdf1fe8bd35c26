#include "firmware_fixtures.hpp"
#include "microkernel/acpi/madt.hpp"
#include "microkernel/acpi/mp_table.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace herald;
using namespace herald::fixtures;

namespace {

// MP Specification 1.4 §4.1: the floating pointer's checksum is at 10.
constexpr usize kPointerChecksumOffset = 10;
constexpr usize kPointerLengthOffset = 8;
constexpr usize kPointerFeature1Offset = 11;
// §4.2: the configuration table header.
constexpr usize kBaseLengthOffset = 4;
constexpr usize kTableChecksumOffset = 7;
constexpr usize kEntryCountOffset = 34;
constexpr usize kConfigHeaderSize = 44;

constexpr u64 kUnmapped = 0x4000'0000;

void fix_pointer_checksum(std::vector<u8>& pointer) { fix_checksum(pointer, kPointerChecksumOffset, pointer.size()); }

void fix_table_checksum(std::vector<u8>& table)
{
    usize length = table[kBaseLengthOffset] | (table[kBaseLengthOffset + 1] << 8);
    fix_checksum(table, kTableChecksumOffset, min(length, table.size()));
}

std::vector<u8> make_pointer(u32 table_address, u8 feature1 = 0, u8 feature2 = 0)
{
    std::vector<u8> pointer(16, 0);
    std::memcpy(pointer.data(), "_MP_", 4);
    put_u32(pointer, 4, table_address);
    pointer[kPointerLengthOffset] = 1;
    pointer[9] = 4;
    pointer[kPointerFeature1Offset] = feature1;
    pointer[12] = feature2;
    fix_pointer_checksum(pointer);
    return pointer;
}

// Builds configuration tables entry by entry (§4.2, §4.3).
class TableBuilder {
public:
    TableBuilder()
    {
        m_bytes.resize(kConfigHeaderSize);
        std::memcpy(m_bytes.data(), "PCMP", 4);
        m_bytes[6] = 4;
        put_u32(m_bytes, 36, 0xFEE00000);
    }
    TableBuilder& raw(const std::vector<u8>& entry)
    {
        m_bytes.insert(m_bytes.end(), entry.begin(), entry.end());
        ++m_count;
        return *this;
    }
    TableBuilder& processor(u8 apic_id, u8 flags)
    {
        std::vector<u8> entry(20, 0);
        entry[1] = apic_id, entry[2] = 0x14, entry[3] = flags;
        return raw(entry);
    }
    TableBuilder& bus(u8 id, const char* type) { return raw({ 1, id, u8(type[0]), u8(type[1]), u8(type[2]), u8(type[3]), u8(type[4]), u8(type[5]) }); }
    TableBuilder& io_apic(u8 id, u8 flags, u32 address)
    {
        std::vector<u8> entry { 2, id, 0x11, flags, 0, 0, 0, 0 };
        put_u32(entry, 4, address);
        return raw(entry);
    }
    TableBuilder& io_interrupt(u8 type, u16 flags, u8 bus, u8 irq, u8 io_apic, u8 pin)
    {
        std::vector<u8> entry { 3, type, 0, 0, bus, irq, io_apic, pin };
        put_u16(entry, 2, flags);
        return raw(entry);
    }
    TableBuilder& local_interrupt(u8 type, u16 flags, u8 apic, u8 lint)
    {
        std::vector<u8> entry { 4, type, 0, 0, 0, 0, apic, lint };
        put_u16(entry, 2, flags);
        return raw(entry);
    }
    std::vector<u8> build(Optional<u16> count = {}) const
    {
        auto bytes = m_bytes;
        put_u16(bytes, kBaseLengthOffset, static_cast<u16>(bytes.size()));
        put_u16(bytes, kEntryCountOffset, count.value_or(static_cast<u16>(m_count)));
        fix_table_checksum(bytes);
        return bytes;
    }

private:
    std::vector<u8> m_bytes;
    usize m_count { 0 };
};

std::unique_ptr<PlatformTopology> new_topology() { return std::make_unique<PlatformTopology>(); }

ErrorOr<void> parse(const std::vector<u8>& bytes, PlatformTopology& out)
{
    return parse_mp_config_table(ByteReader(bytes.data(), bytes.size()), out);
}

Error table_error(const std::vector<u8>& bytes)
{
    auto topology = new_topology();
    return parse(bytes, *topology).error();
}

bool is_qboot(const Fixture& fixture) { return fixture.name.rfind("qboot", 0) == 0; }

// qboot builds its 64-CPU table in the EBDA's last KiB and runs past 640 KiB
// into the VGA window, where the bytes read back as zeros: the processor
// entries stop at APIC id 48 and the zeros parse as a truncated entry.
bool is_overflowed_qboot_table(const Fixture& fixture) { return fixture.name == "qboot-smp64"; }

} // namespace

TEST_CASE("find_mp_floating_pointer finds the real firmware's pointer")
{
    for (const Fixture& fixture : all_fixtures()) {
        INFO(fixture.name);
        Memory memory;
        build_memory(memory, fixture);
        auto pointer = find_mp_floating_pointer(memory);
        REQUIRE(pointer.has_value());
        // qboot puts it in the EBDA, SeaBIOS in the BIOS ROM area.
        CHECK(pointer->address.get() == fixture.table("MPFP").address);
        CHECK(pointer->config_table_address == fixture.table("MPCT").address);
        CHECK(pointer->spec_revision == 4);
        CHECK(pointer->default_configuration == 0);

        auto table = read_mp_config_table(memory, *pointer);
        REQUIRE_FALSE(table.is_error());
        const auto& expected = fixture.table("MPCT").bytes;
        REQUIRE(table.value().size() == expected.size());
        CHECK(std::memcmp(table.value().data(), expected.data(), expected.size()) == 0);
    }
}

TEST_CASE("parse_mp_config_table reads the real MP tables")
{
    for (const Fixture& fixture : all_fixtures()) {
        INFO(fixture.name);
        const auto& bytes = fixture.table("MPCT").bytes;
        auto topology = new_topology();
        auto result = parse(bytes, *topology);
        if (is_overflowed_qboot_table(fixture)) {
            CHECK(result.error() == Error::Truncated);
            continue;
        }
        REQUIRE_FALSE(result.is_error());
        CHECK(topology->source == PlatformTopology::Source::MpTable);
        CHECK(topology->local_apic_address == 0xFEE00000);

        // qboot lists every CPU; SeaBIOS only the first CPU of each package,
        // and QEMU puts all -smp CPUs in one package.
        usize expected_cpus = is_qboot(fixture) ? fixture.cpu_count : 1;
        REQUIRE(topology->cpu_count == expected_cpus);
        for (usize i = 0; i < topology->cpu_count; ++i) {
            CHECK(topology->cpus[i].apic_id == i);
            CHECK(topology->cpus[i].enabled);
            CHECK(topology->cpus[i].bootstrap == (i == 0));
        }

        // One I/O APIC at the usual address. Its id differs between the
        // firmwares (qboot numbers it after the CPUs) but never clashes.
        REQUIRE(topology->io_apic_count == 1);
        CHECK(topology->io_apics[0].address == 0xFEC00000);
        CHECK(topology->io_apics[0].gsi_base == 0);
        CHECK(topology->io_apics[0].gsi_base_known);
        CHECK(topology->io_apics[0].id == (is_qboot(fixture) ? fixture.cpu_count + 1 : 0));

        // The PIT's IRQ0 on pin 2 is the only ISA IRQ that is not identity-mapped.
        REQUIRE(topology->override_count == 1);
        CHECK(topology->overrides[0].bus_irq == 0);
        CHECK(topology->overrides[0].gsi == 2);
        CHECK(topology->overrides[0].flags == 0);

        REQUIRE(topology->local_nmi_count == 1);
        CHECK(topology->local_nmis[0].target == NmiTarget::AllProcessors);
        CHECK(topology->local_nmis[0].lint == 1);
    }
}

TEST_CASE("the MP table and the MADT describe the same CPUs")
{
    for (const Fixture& fixture : all_fixtures()) {
        if (!is_qboot(fixture) || is_overflowed_qboot_table(fixture))
            continue; // SeaBIOS lists one CPU per package, see above
        INFO(fixture.name);
        auto from_mp = new_topology();
        auto from_acpi = new_topology();
        REQUIRE_FALSE(parse(fixture.table("MPCT").bytes, *from_mp).is_error());
        const auto& madt = fixture.table("APIC").bytes;
        REQUIRE_FALSE(parse_madt(ByteReader(madt.data(), madt.size()), *from_acpi).is_error());
        REQUIRE(from_mp->cpu_count == from_acpi->cpu_count);
        for (usize i = 0; i < from_mp->cpu_count; ++i)
            CHECK(from_mp->cpus[i].apic_id == from_acpi->cpus[i].apic_id);
        CHECK(from_mp->local_apic_address == from_acpi->local_apic_address);
        CHECK(from_mp->io_apics[0].address == from_acpi->io_apics[0].address);
    }
}

TEST_CASE("find_mp_floating_pointer searches where the specification says")
{
    Memory memory;
    memory.add_region(0, 0x100000);

    SECTION("EBDA first")
    {
        memory.put_u16(0x40E, 0x9000);
        memory.put(0x90000 + 0x3F0, make_pointer(0x1111));
        memory.put(0x9FC00, make_pointer(0x2222));
        memory.put(0xF0000, make_pointer(0x3333));
        CHECK(find_mp_floating_pointer(memory)->config_table_address == 0x1111);
    }
    SECTION("then the last KiB of base memory, as the BIOS data area gives it")
    {
        memory.put_u16(0x413, 512);
        memory.put(0x7FC00 + 0x10, make_pointer(0x2222));
        memory.put(0xFFFF0, make_pointer(0x3333));
        CHECK(find_mp_floating_pointer(memory)->config_table_address == 0x2222);
    }
    SECTION("639 KiB when the BIOS data area says nothing")
    {
        memory.put(0x9FFF0, make_pointer(0x2222));
        CHECK(find_mp_floating_pointer(memory)->config_table_address == 0x2222);
    }
    SECTION("then the BIOS ROM, up to its last paragraph")
    {
        memory.put(0xFFFF0, make_pointer(0x3333));
        CHECK(find_mp_floating_pointer(memory)->config_table_address == 0x3333);
    }
    SECTION("only on 16-byte boundaries, and only valid ones")
    {
        memory.put(0xF0008, make_pointer(0x1111));
        auto bad_checksum = make_pointer(0x2222);
        bad_checksum[4] ^= 1;
        memory.put(0xF0100, bad_checksum);
        auto zero_length = make_pointer(0x3333);
        zero_length[kPointerLengthOffset] = 0;
        fix_pointer_checksum(zero_length);
        memory.put(0xF0200, zero_length);
        auto long_length = make_pointer(0x4444);
        long_length[kPointerLengthOffset] = 2; // checksum over 32 bytes now fails
        memory.put(0xF0300, long_length);
        CHECK_FALSE(find_mp_floating_pointer(memory).has_value());
        memory.put(0xF0400, make_pointer(0x5555));
        CHECK(find_mp_floating_pointer(memory)->config_table_address == 0x5555);
    }
    SECTION("nothing there")
    {
        CHECK_FALSE(find_mp_floating_pointer(memory).has_value());
        Memory tiny;
        tiny.add_region(0, 0x100);
        CHECK_FALSE(find_mp_floating_pointer(tiny).has_value());
    }
    SECTION("memory ending inside a candidate")
    {
        Memory cut;
        cut.add_region(0, 0xFFFF8);
        auto pointer = make_pointer(1);
        cut.put(0xFFFF0, std::vector<u8>(pointer.begin(), pointer.begin() + 8));
        CHECK_FALSE(find_mp_floating_pointer(cut).has_value());
    }
}

TEST_CASE("parse_mp_floating_pointer reads the feature bytes")
{
    auto bytes = make_pointer(0, 5, 0x80);
    auto pointer = parse_mp_floating_pointer(ByteReader(bytes.data(), bytes.size()), PhysicalAddress(0xF0000));
    REQUIRE_FALSE(pointer.is_error());
    CHECK(pointer.value().default_configuration == 5);
    CHECK(pointer.value().imcr_present);
    CHECK(pointer.value().address.get() == 0xF0000);
    CHECK(parse_mp_floating_pointer(ByteReader(bytes.data(), 15), PhysicalAddress(0)).error() == Error::Truncated);
    bytes[0] = '_' + 1;
    CHECK(parse_mp_floating_pointer(ByteReader(bytes.data(), 16), PhysicalAddress(0)).error() == Error::BadMagic);
}

TEST_CASE("read_mp_config_table refuses what is not a table")
{
    Memory memory;
    memory.add_region(0, 0x100000);
    auto read = [&](const std::vector<u8>& pointer_bytes) {
        auto pointer = parse_mp_floating_pointer(ByteReader(pointer_bytes.data(), pointer_bytes.size()), PhysicalAddress(0));
        REQUIRE_FALSE(pointer.is_error());
        return read_mp_config_table(memory, pointer.value());
    };

    // §5: a default configuration has no table; Herald does not build one.
    CHECK(read(make_pointer(0, 6)).error() == Error::Unsupported);
    CHECK(read(make_pointer(0x9000, 1)).error() == Error::Unsupported);
    CHECK(read(make_pointer(0)).error() == Error::NotFound);
    CHECK(read(make_pointer(static_cast<u32>(kUnmapped))).error() == Error::OutOfRange);
    CHECK(read(make_pointer(0xFFFFF)).error() == Error::OutOfRange); // header runs off the end

    auto table = TableBuilder().processor(0, 3).build();
    memory.put(0x9000, table);
    CHECK(read(make_pointer(0x9000)).value().size() == table.size());

    // A Base Table Length that runs past the end of memory.
    put_u16(table, kBaseLengthOffset, 0xFFFF);
    memory.put(0xFFF00, table);
    CHECK(read(make_pointer(0xFFF00)).error() == Error::OutOfRange);
    // One below the header size: read as much as the header, then rejected.
    put_u16(table, kBaseLengthOffset, 43);
    memory.put(0x9000, table);
    CHECK(read(make_pointer(0x9000)).error() == Error::BadLength);
    table[0] = 'X';
    memory.put(0x9000, table);
    CHECK(read(make_pointer(0x9000)).error() == Error::BadMagic);
}

TEST_CASE("parse_mp_config_table handles every entry type")
{
    auto table = TableBuilder()
                     .processor(0, 3)
                     .processor(1, 0)   // unusable: not recorded
                     .processor(1, 0)   // and may repeat
                     .processor(2, 1)
                     .bus(0, "PCI   ")
                     .bus(3, "ISA   ")
                     .io_apic(8, 1, 0xFEC00000)
                     .io_apic(9, 0, 0xFEC01000)  // disabled
                     .io_apic(10, 1, 0xFEC02000)
                     .io_interrupt(0, 0, 3, 0, 8, 2)     // ISA IRQ0 -> pin 2
                     .io_interrupt(0, 0, 3, 1, 8, 1)     // identity, conforming: no override
                     .io_interrupt(0, 0xF, 3, 9, 8, 9)   // level, active low
                     .io_interrupt(0, 0xF, 0, 0x7C, 8, 10) // a PCI interrupt: not an ISA override
                     .io_interrupt(3, 0, 3, 0, 8, 0)     // ExtINT: not routed
                     .io_interrupt(0, 0, 3, 4, 10, 4)    // second I/O APIC: GSI base unknown
                     .io_interrupt(0, 0, 3, 5, 0xFF, 5)  // every I/O APIC: no single GSI
                     .local_interrupt(3, 0, 0xFF, 0)
                     .local_interrupt(1, 5, 2, 1)
                     .build();
    auto topology = new_topology();
    REQUIRE_FALSE(parse(table, *topology).is_error());
    CHECK(topology->pcat_compat);
    REQUIRE(topology->cpu_count == 2);
    CHECK((topology->cpus[0].apic_id == 0 && topology->cpus[0].bootstrap));
    CHECK((topology->cpus[1].apic_id == 2 && !topology->cpus[1].bootstrap && topology->cpus[1].enabled));
    REQUIRE(topology->io_apic_count == 2);
    CHECK(topology->io_apics[0].gsi_base_known);
    CHECK((topology->io_apics[1].id == 10 && !topology->io_apics[1].gsi_base_known));
    REQUIRE(topology->override_count == 2);
    CHECK((topology->overrides[0].bus_irq == 0 && topology->overrides[0].gsi == 2));
    CHECK((topology->overrides[1].bus_irq == 9 && topology->overrides[1].gsi == 9 && topology->overrides[1].flags == 0xF));
    REQUIRE(topology->local_nmi_count == 1);
    CHECK((topology->local_nmis[0].target == NmiTarget::ApicId && topology->local_nmis[0].processor == 2));
    CHECK((topology->local_nmis[0].lint == 1 && topology->local_nmis[0].flags == 5));
}

TEST_CASE("parse_mp_config_table honours Entry Count")
{
    auto builder = TableBuilder().processor(0, 3).processor(1, 1).processor(2, 1);
    auto topology = new_topology();
    // Fewer than the table holds: the rest is ignored.
    REQUIRE_FALSE(parse(builder.build(2), *topology).is_error());
    CHECK(topology->cpu_count == 2);
    // 0, as qboot leaves it: walk the whole Base Table Length.
    REQUIRE_FALSE(parse(builder.build(0), *topology).is_error());
    CHECK(topology->cpu_count == 3);
    // More than could possibly fit.
    CHECK(table_error(builder.build(0xFFFF)) == Error::BadLength);
    CHECK(table_error(builder.build(8)) == Error::BadLength);
    // Plausible by size, but the 20-byte processor entries run out first.
    CHECK(table_error(builder.build(7)) == Error::BadLength);
    CHECK(table_error(builder.build(4)) == Error::BadLength);
    // Ending inside an entry.
    auto odd = TableBuilder().processor(0, 3).bus(0, "ISA   ").raw({ 2, 1, 0x11, 1 }).build();
    CHECK(table_error(odd) == Error::Truncated);
}

TEST_CASE("parse_mp_config_table rejects corrupt tables")
{
    const auto& real = fixture_named("seabios-smp4").table("MPCT").bytes;
    auto table = real;

    SECTION("bad signature")
    {
        table[1] = 'X';
        fix_table_checksum(table);
        CHECK(table_error(table) == Error::BadMagic);
    }
    SECTION("bad checksum")
    {
        table[60] ^= 4;
        CHECK(table_error(table) == Error::BadChecksum);
    }
    SECTION("Base Table Length larger than the bytes")
    {
        put_u16(table, kBaseLengthOffset, static_cast<u16>(table.size() + 8));
        fix_table_checksum(table);
        CHECK(table_error(table) == Error::Truncated);
    }
    SECTION("Base Table Length below the header")
    {
        put_u16(table, kBaseLengthOffset, 43);
        fix_table_checksum(table);
        CHECK(table_error(table) == Error::BadLength);
        put_u16(table, kBaseLengthOffset, 0);
        CHECK(table_error(table) == Error::BadLength);
    }
    SECTION("absurd Entry Count")
    {
        put_u16(table, kEntryCountOffset, 0xFFFF);
        fix_table_checksum(table);
        CHECK(table_error(table) == Error::BadLength);
    }
    SECTION("unknown entry type")
    {
        table[kConfigHeaderSize + 20] = 0x80; // the entry after the processor
        fix_table_checksum(table);
        CHECK(table_error(table) == Error::Unsupported);
    }
    SECTION("an entry cut off by the end")
    {
        auto cut = TableBuilder().processor(0, 3).raw({ 0, 1, 0x14, 1 }).build(0);
        CHECK(table_error(cut) == Error::Truncated);
    }
    SECTION("duplicate APIC ids")
    {
        CHECK(table_error(TableBuilder().processor(4, 3).processor(4, 1).build()) == Error::Duplicate);
        CHECK(table_error(TableBuilder().io_apic(2, 1, 0xFEC00000).io_apic(2, 1, 0xFEC01000).build()) == Error::Duplicate);
    }
    SECTION("more CPUs than fit are truncated, not an error")
    {
        TableBuilder builder;
        for (usize id = 0; id < 255; ++id)
            builder.processor(static_cast<u8>(id), 1);
        auto topology = new_topology();
        REQUIRE_FALSE(parse(builder.build(), *topology).is_error());
        CHECK(topology->cpu_count == 255);
        CHECK_FALSE(topology->cpus_truncated);
    }
}

TEST_CASE("MP parsing survives truncation and random corruption")
{
    std::mt19937 random(1997);
    for (const Fixture& fixture : all_fixtures()) {
        INFO(fixture.name);
        const auto& real = fixture.table("MPCT").bytes;
        auto topology = new_topology();
        for (usize length = 0; length <= real.size(); ++length) {
            std::vector<u8> cut(real.begin(), real.begin() + length);
            auto result = parse(cut, *topology);
            if (length < real.size())
                CHECK(result.is_error());
            if (length >= 8) {
                put_u16(cut, kBaseLengthOffset, static_cast<u16>(length));
                fix_table_checksum(cut);
                (void)parse(cut, *topology);
            }
        }
        for (int round = 0; round < 2000; ++round) {
            auto bytes = real;
            int flips = 1 + static_cast<int>(random() % 8);
            for (int i = 0; i < flips; ++i)
                bytes[random() % bytes.size()] = static_cast<u8>(random());
            if (round % 2 == 0)
                fix_table_checksum(bytes);
            if (!parse(bytes, *topology).is_error())
                CHECK(topology->cpu_count <= kMaxCpus);
        }

        // The pointer and the table, corrupted in memory, found by the scan.
        Memory memory;
        build_memory(memory, fixture);
        const Table& pointer = fixture.table("MPFP");
        for (int round = 0; round < 300; ++round) {
            auto bytes = pointer.bytes;
            bytes[random() % bytes.size()] = static_cast<u8>(random());
            if (round % 2 == 0)
                fix_pointer_checksum(bytes);
            memory.put(pointer.address, bytes);
            auto found = find_mp_floating_pointer(memory);
            if (!found)
                continue;
            auto table = read_mp_config_table(memory, *found);
            if (!table.is_error())
                (void)parse_mp_config_table(table.value(), *topology);
        }
    }
}
