#include "firmware_fixtures.hpp"
#include "microkernel/acpi/acpi_tables.hpp"
#include "microkernel/acpi/madt.hpp"
#include "microkernel/boot/rsdp.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace herald;
using namespace herald::fixtures;

namespace {

// ACPI 6.5 §5.2.6: Length at 4, Checksum at 9.
constexpr usize kLengthOffset = 4;
constexpr usize kChecksumOffset = 9;
constexpr usize kMadtHeaderSize = 44;

// Where the tests put things no fixture uses.
constexpr u64 kRsdpAddress = 0xE0000;
constexpr u64 kSpareLowMemory = 0xE1000;
constexpr u64 kUnmapped = 0x4000'0000;

void fix_table_checksum(std::vector<u8>& table) { fix_checksum(table, kChecksumOffset, table.size()); }

// An RSDP with correct checksums (ACPI 6.5 §5.2.5.3).
std::vector<u8> make_rsdp(u8 revision, u32 rsdt, u64 xsdt = 0)
{
    std::vector<u8> bytes(revision >= 2 ? 36 : 20, 0);
    std::memcpy(bytes.data(), "RSD PTR ", 8);
    std::memcpy(bytes.data() + 9, "BOCHS ", 6);
    bytes[15] = revision;
    put_u32(bytes, 16, rsdt);
    fix_checksum(bytes, 8, 20);
    if (revision >= 2) {
        put_u32(bytes, 20, 36);
        put_u64(bytes, 24, xsdt);
        fix_checksum(bytes, 32, 36);
    }
    return bytes;
}

// A description table: the 36-byte header, then `body`; Length and Checksum set.
std::vector<u8> make_table(const char* signature, const std::vector<u8>& body)
{
    std::vector<u8> bytes(kAcpiTableHeaderSize, 0);
    std::memcpy(bytes.data(), signature, 4);
    bytes[8] = 1; // revision
    std::memcpy(bytes.data() + 10, "HERALD", 6);
    bytes.insert(bytes.end(), body.begin(), body.end());
    put_u32(bytes, kLengthOffset, static_cast<u32>(bytes.size()));
    fix_table_checksum(bytes);
    return bytes;
}

std::vector<u8> make_xsdt(const std::vector<u64>& entries)
{
    std::vector<u8> body(entries.size() * 8);
    for (usize i = 0; i < entries.size(); ++i)
        put_u64(body, i * 8, entries[i]);
    return make_table("XSDT", body);
}

std::vector<u8> make_rsdt(const std::vector<u32>& entries)
{
    std::vector<u8> body(entries.size() * 4);
    for (usize i = 0; i < entries.size(); ++i)
        put_u32(body, i * 4, entries[i]);
    return make_table("RSDT", body);
}

// A fixture's memory and the root its RSDP (placed at 0xE0000) gives.
struct Machine {
    Memory memory;
    AcpiRoot root;
};

std::unique_ptr<Machine> boot(const Fixture& fixture)
{
    auto machine = std::make_unique<Machine>();
    build_memory(machine->memory, fixture);
    machine->memory.put(kRsdpAddress, make_rsdp(0, static_cast<u32>(fixture.table("RSDT").address)));
    auto root = find_rsdp(machine->memory);
    REQUIRE(root.has_value());
    machine->root = *root;
    return machine;
}

// A fixture with one table's bytes replaced.
Fixture with_table(Fixture fixture, const std::string& name, const std::vector<u8>& bytes)
{
    for (Table& table : fixture.tables) {
        if (table.name == name)
            table.bytes = bytes;
    }
    return fixture;
}

// Builds MADTs entry by entry (ACPI 6.5 §5.2.12).
class MadtBuilder {
public:
    explicit MadtBuilder(u32 local_apic_address = 0xFEE00000, u32 flags = 1)
    {
        m_body.resize(8);
        put_u32(m_body, 0, local_apic_address);
        put_u32(m_body, 4, flags);
    }

    MadtBuilder& raw(const std::vector<u8>& bytes)
    {
        m_body.insert(m_body.end(), bytes.begin(), bytes.end());
        return *this;
    }
    MadtBuilder& local_apic(u8 uid, u8 apic_id, u32 flags = 1)
    {
        std::vector<u8> entry { 0, 8, uid, apic_id, 0, 0, 0, 0 };
        put_u32(entry, 4, flags);
        return raw(entry);
    }
    MadtBuilder& io_apic(u8 id, u32 address, u32 gsi_base)
    {
        std::vector<u8> entry(12, 0);
        entry[0] = 1, entry[1] = 12, entry[2] = id;
        put_u32(entry, 4, address);
        put_u32(entry, 8, gsi_base);
        return raw(entry);
    }
    MadtBuilder& source_override(u8 bus, u8 irq, u32 gsi, u16 flags)
    {
        std::vector<u8> entry(10, 0);
        entry[0] = 2, entry[1] = 10, entry[2] = bus, entry[3] = irq;
        put_u32(entry, 4, gsi);
        put_u16(entry, 8, flags);
        return raw(entry);
    }
    MadtBuilder& local_apic_nmi(u8 uid, u16 flags, u8 lint)
    {
        std::vector<u8> entry { 4, 6, uid, 0, 0, lint };
        put_u16(entry, 3, flags);
        return raw(entry);
    }
    MadtBuilder& address_override(u64 address)
    {
        std::vector<u8> entry(12, 0);
        entry[0] = 5, entry[1] = 12;
        put_u64(entry, 4, address);
        return raw(entry);
    }
    MadtBuilder& local_x2apic(u32 apic_id, u32 flags, u32 uid)
    {
        std::vector<u8> entry(16, 0);
        entry[0] = 9, entry[1] = 16;
        put_u32(entry, 4, apic_id);
        put_u32(entry, 8, flags);
        put_u32(entry, 12, uid);
        return raw(entry);
    }
    MadtBuilder& local_x2apic_nmi(u16 flags, u32 uid, u8 lint)
    {
        std::vector<u8> entry(12, 0);
        entry[0] = 0xA, entry[1] = 12, entry[8] = lint;
        put_u16(entry, 2, flags);
        put_u32(entry, 4, uid);
        return raw(entry);
    }

    std::vector<u8> build() const { return make_table("APIC", m_body); }

private:
    std::vector<u8> m_body;
};

std::unique_ptr<PlatformTopology> new_topology() { return std::make_unique<PlatformTopology>(); }

ErrorOr<void> parse(const std::vector<u8>& bytes, PlatformTopology& out)
{
    return parse_madt(ByteReader(bytes.data(), bytes.size()), out);
}

Error madt_error(const std::vector<u8>& bytes)
{
    auto topology = new_topology();
    return parse(bytes, *topology).error();
}

} // namespace

TEST_CASE("find_table finds every table of the real firmware through the RSDT")
{
    for (const Fixture& fixture : all_fixtures()) {
        INFO(fixture.name);
        auto machine = boot(fixture);
        CHECK(machine->root.rsdt_address == fixture.table("RSDT").address);
        for (const char* name : { "FACP", "APIC", "HPET", "MCFG", "WAET" }) {
            INFO(name);
            auto table = find_table(machine->memory, machine->root, name);
            REQUIRE_FALSE(table.is_error());
            CHECK(table.value().address.get() == fixture.table(name).address);
            const auto& expected = fixture.table(name).bytes;
            REQUIRE(table.value().bytes.size() == expected.size());
            CHECK(std::memcmp(table.value().bytes.data(), expected.data(), expected.size()) == 0);
        }
        CHECK(find_table(machine->memory, machine->root, "SSDT").error() == Error::NotFound);
        // The FADT's DSDT is not listed in the root table.
        CHECK(find_table(machine->memory, machine->root, "DSDT").error() == Error::NotFound);
    }
}

TEST_CASE("find_table prefers the XSDT from RSDP revision 2 on")
{
    const Fixture& fixture = fixture_named("seabios-smp4");
    auto machine = boot(fixture);
    u64 apic = fixture.table("APIC").address;
    machine->memory.put(kSpareLowMemory, make_xsdt({ fixture.table("FACP").address, apic }));

    AcpiRoot root = machine->root;
    root.revision = 2;
    root.xsdt_address = kSpareLowMemory;
    root.rsdt_address = static_cast<u32>(kUnmapped); // would fail if it were used
    auto table = find_table(machine->memory, root, "APIC");
    REQUIRE_FALSE(table.is_error());
    CHECK(table.value().address.get() == apic);
    CHECK(find_table(machine->memory, root, "HPET").error() == Error::NotFound); // not in this XSDT

    SECTION("revision 2 without an XSDT uses the RSDT")
    {
        AcpiRoot no_xsdt = machine->root;
        no_xsdt.revision = 2;
        CHECK_FALSE(find_table(machine->memory, no_xsdt, "HPET").is_error());
    }
    SECTION("a revision 0 root ignores an XSDT address")
    {
        AcpiRoot old = machine->root;
        old.xsdt_address = kUnmapped;
        CHECK_FALSE(find_table(machine->memory, old, "HPET").is_error());
    }
    SECTION("the XSDT must say XSDT")
    {
        auto rsdt_signature = make_xsdt({ apic });
        std::memcpy(rsdt_signature.data(), "RSDT", 4);
        fix_table_checksum(rsdt_signature);
        machine->memory.put(kSpareLowMemory, rsdt_signature);
        CHECK(find_table(machine->memory, root, "APIC").error() == Error::BadMagic);
    }
    SECTION("the whole synthesized RSDP path, revision 2")
    {
        machine->memory.put(kRsdpAddress, make_rsdp(2, static_cast<u32>(kUnmapped), kSpareLowMemory));
        auto found = find_rsdp(machine->memory);
        REQUIRE(found.has_value());
        CHECK(find_table(machine->memory, *found, "APIC").value().address.get() == apic);
    }
}

TEST_CASE("find_table rejects a broken root table")
{
    const Fixture& fixture = fixture_named("qboot-smp4");
    auto rsdt = fixture.table("RSDT").bytes;
    auto error_with_rsdt = [&](const std::vector<u8>& bytes) {
        auto machine = boot(with_table(fixture, "RSDT", bytes));
        return find_table(machine->memory, machine->root, "APIC").error();
    };

    SECTION("signature")
    {
        std::memcpy(rsdt.data(), "XSDT", 4);
        fix_table_checksum(rsdt);
        CHECK(error_with_rsdt(rsdt) == Error::BadMagic);
    }
    SECTION("checksum")
    {
        rsdt[40] ^= 0x10;
        CHECK(error_with_rsdt(rsdt) == Error::BadChecksum);
    }
    SECTION("length below the header")
    {
        put_u32(rsdt, kLengthOffset, 35);
        fix_table_checksum(rsdt);
        CHECK(error_with_rsdt(rsdt) == Error::BadLength);
        put_u32(rsdt, kLengthOffset, 0);
        fix_table_checksum(rsdt);
        CHECK(error_with_rsdt(rsdt) == Error::BadLength);
    }
    SECTION("absurd length")
    {
        put_u32(rsdt, kLengthOffset, 0xFFFF'FFFF);
        fix_table_checksum(rsdt);
        CHECK(error_with_rsdt(rsdt) == Error::BadLength);
    }
    SECTION("length running past the end of memory")
    {
        const Fixture& high = fixture_named("seabios-smp4");
        auto high_rsdt = high.table("RSDT").bytes;
        put_u32(high_rsdt, kLengthOffset, 0x2000);
        fix_table_checksum(high_rsdt);
        auto machine = boot(with_table(high, "RSDT", high_rsdt));
        CHECK(find_table(machine->memory, machine->root, "APIC").error() == Error::OutOfRange);
    }
    SECTION("root pointer outside memory")
    {
        auto machine = boot(fixture);
        AcpiRoot root = machine->root;
        root.rsdt_address = static_cast<u32>(kUnmapped);
        CHECK(find_table(machine->memory, root, "APIC").error() == Error::OutOfRange);
        root.revision = 2;
        root.xsdt_address = ~u64(0) - 8; // the header would wrap around
        CHECK(find_table(machine->memory, root, "APIC").error() == Error::OutOfRange);
    }
}

TEST_CASE("find_table reports broken entries but still finds the others")
{
    const Fixture& fixture = fixture_named("qboot-smp16");
    auto machine = boot(fixture);
    u32 apic = static_cast<u32>(fixture.table("APIC").address);
    u32 facp = static_cast<u32>(fixture.table("FACP").address);
    AcpiRoot root = machine->root;
    root.rsdt_address = static_cast<u32>(kSpareLowMemory);

    SECTION("a pointer outside memory")
    {
        machine->memory.put(kSpareLowMemory, make_rsdt({ static_cast<u32>(kUnmapped), facp }));
        CHECK(find_table(machine->memory, root, "APIC").error() == Error::OutOfRange);
        CHECK_FALSE(find_table(machine->memory, root, "FACP").is_error());
    }
    SECTION("a pointer at the very top of memory space")
    {
        machine->memory.put(kSpareLowMemory, make_rsdt({ 0xFFFF'FFFE, facp }));
        CHECK(find_table(machine->memory, root, "APIC").error() == Error::OutOfRange);
        CHECK_FALSE(find_table(machine->memory, root, "FACP").is_error());
    }
    SECTION("unused slots, and a trailing partial entry, are ignored")
    {
        auto rsdt = make_rsdt({ 0, apic });
        rsdt.push_back(0xAB);
        put_u32(rsdt, kLengthOffset, static_cast<u32>(rsdt.size()));
        fix_table_checksum(rsdt);
        machine->memory.put(kSpareLowMemory, rsdt);
        CHECK(find_table(machine->memory, root, "APIC").value().address.get() == apic);
    }
    SECTION("a corrupt copy before a good one")
    {
        auto copy = fixture.table("APIC").bytes;
        copy[50] ^= 1;
        u64 copy_address = kSpareLowMemory + 0x100;
        machine->memory.put(copy_address, copy);
        machine->memory.put(kSpareLowMemory, make_rsdt({ static_cast<u32>(copy_address), apic }));
        CHECK(find_table(machine->memory, root, "APIC").value().address.get() == apic);

        machine->memory.put(kSpareLowMemory, make_rsdt({ static_cast<u32>(copy_address) }));
        CHECK(find_table(machine->memory, root, "APIC").error() == Error::BadChecksum);
    }
    SECTION("a matching table with a bad length")
    {
        auto copy = fixture.table("APIC").bytes;
        u64 copy_address = kSpareLowMemory + 0x100;
        machine->memory.put(kSpareLowMemory, make_rsdt({ static_cast<u32>(copy_address) }));
        put_u32(copy, kLengthOffset, 20);
        machine->memory.put(copy_address, copy);
        CHECK(find_table(machine->memory, root, "APIC").error() == Error::BadLength);
        put_u32(copy, kLengthOffset, 0x7FFF'FFFF);
        machine->memory.put(copy_address, copy);
        CHECK(find_table(machine->memory, root, "APIC").error() == Error::BadLength);
    }
    SECTION("a table whose length runs past the end of memory")
    {
        const Fixture& high = fixture_named("seabios-smp16");
        auto high_machine = boot(high);
        auto waet = high.table("WAET"); // the last table below the region's end
        auto bytes = waet.bytes;
        put_u32(bytes, kLengthOffset, 0x4000);
        high_machine->memory.put(waet.address, bytes);
        CHECK(find_table(high_machine->memory, high_machine->root, "WAET").error() == Error::OutOfRange);
    }
}

TEST_CASE("validate_acpi_table checks a table in memory")
{
    auto table = make_table("TEST", { 1, 2, 3, 4 });
    auto valid = validate_acpi_table(ByteReader(table.data(), table.size()), "TEST");
    REQUIRE_FALSE(valid.is_error());
    CHECK(valid.value().size() == 40);
    // Bytes after Length are not part of the table.
    auto longer = table;
    longer.push_back(0x55);
    CHECK(validate_acpi_table(ByteReader(longer.data(), longer.size()), "TEST").value().size() == 40);
    CHECK(validate_acpi_table(ByteReader(table.data(), table.size()), "TSET").error() == Error::BadMagic);
    CHECK(validate_acpi_table(ByteReader(table.data(), 39), "TEST").error() == Error::Truncated);
    CHECK(validate_acpi_table(ByteReader(table.data(), 7), "TEST").error() == Error::Truncated);
}

TEST_CASE("parse_madt reads the real MADTs")
{
    for (const Fixture& fixture : all_fixtures()) {
        INFO(fixture.name);
        auto machine = boot(fixture);
        auto madt = find_table(machine->memory, machine->root, kMadtSignature);
        REQUIRE_FALSE(madt.is_error());
        auto topology = new_topology();
        REQUIRE_FALSE(parse_madt(madt.value().bytes, *topology).is_error());

        CHECK(topology->source == PlatformTopology::Source::Acpi);
        CHECK(topology->local_apic_address == 0xFEE00000);
        CHECK(topology->pcat_compat);
        REQUIRE(topology->cpu_count == fixture.cpu_count);
        CHECK_FALSE(topology->cpus_truncated);
        for (usize i = 0; i < topology->cpu_count; ++i) {
            const Cpu& cpu = topology->cpus[i];
            CHECK(cpu.apic_id == i);
            CHECK(cpu.acpi_processor_uid == i);
            CHECK(cpu.enabled);
            CHECK_FALSE(cpu.online_capable);
            CHECK_FALSE(cpu.bootstrap);
        }

        REQUIRE(topology->io_apic_count == 1);
        CHECK(topology->io_apics[0].id == 0);
        CHECK(topology->io_apics[0].address == 0xFEC00000);
        CHECK(topology->io_apics[0].gsi_base == 0);
        CHECK(topology->io_apics[0].gsi_base_known);

        // QEMU's PC: the PIT's IRQ0 on GSI 2, and the PCI-routed IRQs 5, 9,
        // 10, 11 level-triggered, active high.
        struct Expected {
            u8 irq;
            u32 gsi;
            u16 flags;
        };
        const Expected expected[] = {
            { 0, 2, 0 },
            { 5, 5, kInterruptTriggerLevel | kInterruptPolarityActiveHigh },
            { 9, 9, 0xD },
            { 10, 10, 0xD },
            { 11, 11, 0xD },
        };
        REQUIRE(topology->override_count == 5);
        for (usize i = 0; i < 5; ++i) {
            CHECK(topology->overrides[i].bus_irq == expected[i].irq);
            CHECK(topology->overrides[i].gsi == expected[i].gsi);
            CHECK(topology->overrides[i].flags == expected[i].flags);
        }

        REQUIRE(topology->local_nmi_count == 1);
        CHECK(topology->local_nmis[0].target == NmiTarget::AllProcessors);
        CHECK(topology->local_nmis[0].lint == 1);
        CHECK(topology->local_nmis[0].flags == 0);
    }
}

TEST_CASE("parse_madt handles every entry type")
{
    auto madt = MadtBuilder(0xFEE00000, 0)
                    .local_apic(0, 0, 1)
                    .local_apic(1, 2, 2)        // online-capable, not yet enabled
                    .local_apic(2, 4, 0)        // unusable: not recorded
                    .local_apic(3, 4, 0)        // placeholders may repeat ids
                    .local_apic(4, 6, 3)        // enabled wins over online-capable
                    .local_x2apic(300, 1, 300)
                    .io_apic(1, 0xFEC00000, 0)
                    .io_apic(2, 0xFEC01000, 24)
                    .source_override(0, 0, 2, 0)
                    .source_override(1, 7, 7, 0) // not ISA: ignored
                    .local_apic_nmi(0xFF, 5, 1)
                    .local_apic_nmi(3, 0, 0)
                    .local_x2apic_nmi(0xD, 300, 1)
                    .local_x2apic_nmi(0, 0xFFFFFFFF, 0)
                    .raw({ 0x10, 4, 0xAA, 0xBB })  // an unknown type, skipped by its length
                    .raw({ 0x80, 2 })              // the shortest possible entry
                    .address_override(0x1'FEE0'0000)
                    .build();
    auto topology = new_topology();
    REQUIRE_FALSE(parse(madt, *topology).is_error());
    CHECK(topology->local_apic_address == 0x1'FEE0'0000);
    CHECK_FALSE(topology->pcat_compat);

    REQUIRE(topology->cpu_count == 4);
    CHECK((topology->cpus[0].apic_id == 0 && topology->cpus[0].enabled));
    CHECK((topology->cpus[1].apic_id == 2 && !topology->cpus[1].enabled && topology->cpus[1].online_capable));
    CHECK(topology->cpus[1].acpi_processor_uid == 1);
    CHECK((topology->cpus[2].apic_id == 6 && topology->cpus[2].enabled && !topology->cpus[2].online_capable));
    CHECK((topology->cpus[3].apic_id == 300 && topology->cpus[3].acpi_processor_uid == 300));

    REQUIRE(topology->io_apic_count == 2);
    CHECK(topology->io_apics[1].id == 2);
    CHECK(topology->io_apics[1].address == 0xFEC01000);
    CHECK(topology->io_apics[1].gsi_base == 24);
    REQUIRE(topology->override_count == 1);

    REQUIRE(topology->local_nmi_count == 4);
    CHECK(topology->local_nmis[0].target == NmiTarget::AllProcessors);
    CHECK(topology->local_nmis[0].flags == 5);
    CHECK((topology->local_nmis[1].target == NmiTarget::AcpiProcessorUid && topology->local_nmis[1].processor == 3));
    CHECK(topology->local_nmis[1].lint == 0);
    CHECK((topology->local_nmis[2].target == NmiTarget::AcpiProcessorUid && topology->local_nmis[2].processor == 300));
    CHECK(topology->local_nmis[2].flags == 0xD);
    CHECK(topology->local_nmis[3].target == NmiTarget::AllProcessors);
}

TEST_CASE("parse_madt replaces what the topology held")
{
    auto topology = new_topology();
    REQUIRE_FALSE(parse(MadtBuilder().local_apic(0, 0).local_apic(1, 1).io_apic(0, 1, 0).build(), *topology).is_error());
    REQUIRE_FALSE(parse(MadtBuilder().local_apic(0, 5).build(), *topology).is_error());
    CHECK(topology->cpu_count == 1);
    CHECK(topology->io_apic_count == 0);
}

TEST_CASE("parse_madt keeps the first kMaxCpus CPUs")
{
    MadtBuilder builder;
    for (u32 id = 0; id < kMaxCpus + 10; ++id)
        builder.local_x2apic(id, 1, id);
    auto topology = new_topology();
    REQUIRE_FALSE(parse(builder.build(), *topology).is_error());
    CHECK(topology->cpu_count == kMaxCpus);
    CHECK(topology->cpus_truncated);
    CHECK(topology->cpus[kMaxCpus - 1].apic_id == kMaxCpus - 1);

    MadtBuilder nmis;
    for (u32 uid = 0; uid < PlatformTopology::kMaxLocalNmis + 1; ++uid)
        nmis.local_x2apic_nmi(0, uid, 1);
    REQUIRE_FALSE(parse(nmis.build(), *topology).is_error());
    CHECK(topology->local_nmi_count == PlatformTopology::kMaxLocalNmis);
    CHECK(topology->local_nmis_truncated);
}

TEST_CASE("parse_madt rejects what cannot be right")
{
    SECTION("duplicate APIC ids")
    {
        CHECK(madt_error(MadtBuilder().local_apic(0, 1).local_apic(1, 1).build()) == Error::Duplicate);
        CHECK(madt_error(MadtBuilder().local_apic(0, 7).local_x2apic(7, 2, 9).build()) == Error::Duplicate);
        CHECK(madt_error(MadtBuilder().io_apic(3, 0xFEC00000, 0).io_apic(3, 0xFEC01000, 24).build()) == Error::Duplicate);
    }
    SECTION("too many I/O APICs or overrides")
    {
        MadtBuilder io_apics;
        for (u8 id = 0; id <= PlatformTopology::kMaxIoApics; ++id)
            io_apics.io_apic(id, 0xFEC00000 + id * 0x1000u, id * 24u);
        CHECK(madt_error(io_apics.build()) == Error::TooMany);
        MadtBuilder overrides;
        for (u8 irq = 0; irq <= PlatformTopology::kMaxOverrides; ++irq)
            overrides.source_override(0, irq, irq, 0xD);
        CHECK(madt_error(overrides.build()) == Error::TooMany);
    }
    SECTION("entries shorter than their type needs")
    {
        CHECK(madt_error(MadtBuilder().raw({ 0, 6, 0, 0, 1, 0 }).build()) == Error::BadLength);
        CHECK(madt_error(MadtBuilder().raw({ 1, 8, 0, 0, 0, 0, 0xC0, 0xFE }).build()) == Error::BadLength);
        CHECK(madt_error(MadtBuilder().raw({ 9, 12, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0 }).build()) == Error::BadLength);
    }
}

TEST_CASE("parse_madt rejects corrupt copies of the real MADT")
{
    const auto& real = fixture_named("seabios-smp4").table("APIC").bytes;
    auto madt = real;

    SECTION("bad signature")
    {
        madt[0] = 'X';
        fix_table_checksum(madt);
        CHECK(madt_error(madt) == Error::BadMagic);
    }
    SECTION("bad checksum")
    {
        madt[60] ^= 0x80;
        CHECK(madt_error(madt) == Error::BadChecksum);
    }
    SECTION("header length larger than the bytes")
    {
        put_u32(madt, kLengthOffset, static_cast<u32>(madt.size() + 1));
        fix_table_checksum(madt);
        CHECK(madt_error(madt) == Error::Truncated);
    }
    SECTION("header length below 36, or too short for the MADT fields")
    {
        put_u32(madt, kLengthOffset, 35);
        fix_table_checksum(madt);
        CHECK(madt_error(madt) == Error::BadLength);
        std::vector<u8> short_madt(real.begin(), real.begin() + 40);
        put_u32(short_madt, kLengthOffset, 40);
        fix_table_checksum(short_madt);
        CHECK(madt_error(short_madt) == Error::BadLength);
    }
    SECTION("entry length 0 or 1")
    {
        for (u8 length : { 0, 1 }) {
            madt[kMadtHeaderSize + 1] = length;
            fix_table_checksum(madt);
            CHECK(madt_error(madt) == Error::BadLength);
        }
        // Unknown types too: a 0-length entry would otherwise loop forever.
        auto unknown = MadtBuilder().raw({ 0x42, 0 }).build();
        CHECK(madt_error(unknown) == Error::BadLength);
        unknown = MadtBuilder().raw({ 0x42, 1 }).build();
        CHECK(madt_error(unknown) == Error::BadLength);
    }
    SECTION("entry running past the end")
    {
        // The last entry is the 6-byte LAPIC NMI; claim 7.
        madt[madt.size() - 6 + 1] = 7;
        fix_table_checksum(madt);
        CHECK(madt_error(madt) == Error::Truncated);
        // A lone type byte at the end.
        auto odd = MadtBuilder().local_apic(0, 0).raw({ 0x42 }).build();
        CHECK(madt_error(odd) == Error::Truncated);
    }
}

TEST_CASE("parse_madt survives every truncation of the real MADTs")
{
    for (const Fixture& fixture : all_fixtures()) {
        INFO(fixture.name);
        const auto& real = fixture.table("APIC").bytes;
        auto topology = new_topology();
        for (usize length = 0; length <= real.size(); ++length) {
            // Exactly `length` bytes, so ASan sees any read past them.
            std::vector<u8> cut(real.begin(), real.begin() + length);
            auto result = parse(cut, *topology);
            CHECK(result.is_error() == (length < real.size()));
            // The same bytes with Length and Checksum agreeing with the cut.
            if (length >= kAcpiTableHeaderSize) {
                put_u32(cut, kLengthOffset, static_cast<u32>(length));
                fix_table_checksum(cut);
                (void)parse(cut, *topology);
            }
        }
    }
}

TEST_CASE("parse_madt and find_table survive random corruption")
{
    std::mt19937 random(20240601);
    for (const Fixture& fixture : all_fixtures()) {
        INFO(fixture.name);
        const auto& real = fixture.table("APIC").bytes;
        auto topology = new_topology();
        for (int round = 0; round < 2000; ++round) {
            auto bytes = real;
            int flips = 1 + static_cast<int>(random() % 8);
            for (int i = 0; i < flips; ++i)
                bytes[random() % bytes.size()] = static_cast<u8>(random());
            if (round % 2 == 0 && get_u32(bytes, kLengthOffset) == bytes.size())
                fix_table_checksum(bytes); // get past the checksum to the entries
            if (parse(bytes, *topology).is_error())
                continue;
            CHECK(topology->cpu_count <= kMaxCpus);
            CHECK(topology->io_apic_count <= PlatformTopology::kMaxIoApics);
            CHECK(topology->override_count <= PlatformTopology::kMaxOverrides);
        }

        // Corrupt root tables, with their checksums made right, so that the
        // entries (random table pointers) are followed.
        auto machine = boot(fixture);
        const Table& rsdt = fixture.table("RSDT");
        for (int round = 0; round < 300; ++round) {
            auto bytes = rsdt.bytes;
            int flips = 1 + static_cast<int>(random() % 4);
            for (int i = 0; i < flips; ++i)
                bytes[random() % bytes.size()] = static_cast<u8>(random());
            if (round % 2 == 0)
                fix_table_checksum(bytes);
            machine->memory.put(rsdt.address, bytes);
            for (const char* name : { "APIC", "FACP", "WAET" })
                (void)find_table(machine->memory, machine->root, name);
        }
    }
}
