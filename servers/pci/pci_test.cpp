// Host tests of the PCI server's portable part (ctest: host-pci): BAR
// decoding, the two access mechanisms' addresses, and a walk over a fake
// configuration space with a host bridge, a multi-function device, 32- and
// 64-bit memory BARs, an I/O BAR, and empty slots; the MSI-X capability
// and table entries. Also the MCFG parser the
// kernel uses for the ECAM area (microkernel/acpi/mcfg.hpp), on QEMU's own
// table and corrupted copies.
#include "pci_config.hpp"

#include "microkernel/acpi/mcfg.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <tuple>
#include <vector>

namespace {

// A function's registers; BARs answer the all-ones probe with their size
// mask, as hardware does.
struct FakeFunction {
    std::map<uint16_t, uint32_t> registers;
    std::map<uint16_t, uint32_t> bar_masks; // offset -> bits that read back after all ones
};

class FakeConfig final : public pci::ConfigSpace {
public:
    std::map<std::tuple<int, int, int>, FakeFunction> functions;
    int writes_with_decoding_on = 0;

    uint32_t read32(pci::Address a, uint16_t offset) override
    {
        auto it = functions.find({ a.bus, a.device, a.function });
        if (it == functions.end())
            return 0xFFFF'FFFF; // nobody there
        auto reg = it->second.registers.find(offset);
        return reg == it->second.registers.end() ? 0 : reg->second;
    }

    void write32(pci::Address a, uint16_t offset, uint32_t value) override
    {
        auto it = functions.find({ a.bus, a.device, a.function });
        if (it == functions.end())
            return;
        FakeFunction& f = it->second;
        auto mask = f.bar_masks.find(offset);
        if (mask != f.bar_masks.end()) {
            if ((f.registers[0x04] & 0x3) != 0)
                ++writes_with_decoding_on;
            uint32_t old = f.registers[offset];
            uint32_t type_bits = old & ((old & 1) ? 0x3u : 0xFu); // read-only: I/O or memory type
            f.registers[offset] = value == 0xFFFF'FFFF ? (mask->second | type_bits) : value;
            return;
        }
        if (offset >= 0x10 && offset <= 0x24)
            return; // a BAR without a mask is not implemented: it stays 0
        f.registers[offset] = value;
    }
};

FakeFunction function(uint16_t vendor, uint16_t device, uint8_t class_code, uint8_t subclass, uint8_t header = 0)
{
    FakeFunction f;
    f.registers[0x00] = static_cast<uint32_t>(device) << 16 | vendor;
    f.registers[0x04] = 0x0007; // decoding on, bus master
    f.registers[0x08] = static_cast<uint32_t>(class_code) << 24 | static_cast<uint32_t>(subclass) << 16;
    f.registers[0x0C] = static_cast<uint32_t>(header) << 16;
    f.registers[0x3C] = 0x010B; // INTA, line 11
    return f;
}

} // namespace

TEST_CASE("pci: BARs decode by kind, base and size", "[pci]")
{
    // A 4 KiB 32-bit memory BAR at 0xFEBD1000.
    pci::Bar bar = pci::decode_bar(0xFEBD1000, 0xFFFFF000, 0, 0);
    CHECK(bar.kind == pci::BarKind::Memory32);
    CHECK(bar.base == 0xFEBD1000);
    CHECK(bar.size == 0x1000);
    CHECK_FALSE(bar.prefetchable);
    // A 16 KiB prefetchable 64-bit BAR above 4 GiB.
    bar = pci::decode_bar(0x0000000C, 0xFFFFC00C, 0x00000080, 0xFFFFFFFF);
    CHECK(bar.kind == pci::BarKind::Memory64);
    CHECK(bar.prefetchable);
    CHECK(bar.base == 0x80'0000'0000ull);
    CHECK(bar.size == 0x4000);
    // 32 I/O ports at 0xC040 (the upper half reads back 0).
    bar = pci::decode_bar(0xC041, 0x0000FFE1, 0, 0);
    CHECK(bar.kind == pci::BarKind::Io);
    CHECK(bar.base == 0xC040);
    CHECK(bar.size == 32);
    // Not implemented.
    CHECK(pci::decode_bar(0, 0, 0, 0).kind == pci::BarKind::None);
    CHECK(pci::decode_bar(0x1, 0x1, 0, 0).kind == pci::BarKind::None); // I/O with no address bits
    // A mask with holes (found by the fuzzer, tests/fuzz/pci.cpp): the
    // lowest settable bit is the size, always a power of two.
    bar = pci::decode_bar(0xFEB00000, 0x00F0F000, 0, 0);
    CHECK(bar.kind == pci::BarKind::Memory32);
    CHECK(bar.size == 0x1000);
}

TEST_CASE("pci: configuration addresses for ports and ECAM", "[pci]")
{
    CHECK(pci::port_address({ 0, 0, 0 }, 0) == 0x8000'0000u);
    CHECK(pci::port_address({ 1, 31, 7 }, 0x3C) == (0x8000'0000u | 1u << 16 | 31u << 11 | 7u << 8 | 0x3C));
    CHECK(pci::port_address({ 0, 1, 0 }, 0x3F) == (0x8000'0000u | 1u << 11 | 0x3C)); // dword-aligned
    CHECK(pci::ecam_offset({ 0, 0, 0 }, 0, 0) == 0);
    CHECK(pci::ecam_offset({ 2, 3, 1 }, 0x100, 0) == (2ull << 20 | 3ull << 15 | 1ull << 12 | 0x100));
    CHECK(pci::ecam_offset({ 5, 0, 0 }, 0, 4) == 1ull << 20);
}

TEST_CASE("pci: a walk finds every function and sizes its BARs with decoding off", "[pci]")
{
    FakeConfig config;
    config.functions[{ 0, 0, 0 }] = function(0x8086, 0x29C0, 0x06, 0x00);     // host bridge
    FakeFunction blk = function(0x1AF4, 0x1001, 0x01, 0x00);                  // virtio-blk
    blk.registers[0x10] = 0xC041;                                             // I/O, 64 ports
    blk.bar_masks[0x10] = 0xFFFFFFC0;
    blk.registers[0x14] = 0xFEBD1000;                                         // 4 KiB memory
    blk.bar_masks[0x14] = 0xFFFFF000;
    blk.registers[0x20] = 0x0000000C;                                         // 64-bit prefetchable, 16 KiB
    blk.bar_masks[0x20] = 0xFFFFC000;
    blk.registers[0x24] = 0x00000080;
    blk.bar_masks[0x24] = 0xFFFFFFFF;
    config.functions[{ 0, 3, 0 }] = blk;
    FakeFunction multi = function(0x8086, 0x2918, 0x06, 0x01, 0x80);          // LPC, multi-function
    config.functions[{ 0, 31, 0 }] = multi;
    config.functions[{ 0, 31, 2 }] = function(0x8086, 0x2922, 0x01, 0x06);    // SATA
    config.functions[{ 0, 31, 3 }] = function(0x8086, 0x2930, 0x0C, 0x05);    // SMBus
    config.functions[{ 1, 0, 0 }] = function(0x1234, 0x1111, 0x03, 0x00);     // display on bus 1
    config.functions[{ 0, 5, 1 }] = function(0x1111, 0x2222, 0x02, 0x00);     // function 1 of a single-function slot: never looked at

    pci::Function found[16] = {};
    size_t count = pci::enumerate(config, 0, 255, found, 16);
    REQUIRE(count == 6);
    CHECK(found[0].vendor == 0x8086);
    CHECK(found[0].class_code == 0x06);
    CHECK(found[1].address.device == 3);
    CHECK(found[1].device == 0x1001);
    CHECK(found[1].irq_line == 11);
    CHECK(found[1].irq_pin == 1);
    CHECK(found[1].bars[0].kind == pci::BarKind::Io);
    CHECK(found[1].bars[0].base == 0xC040);
    CHECK(found[1].bars[0].size == 64);
    CHECK(found[1].bars[1].kind == pci::BarKind::Memory32);
    CHECK(found[1].bars[1].size == 0x1000);
    CHECK(found[1].bars[4].kind == pci::BarKind::Memory64);
    CHECK(found[1].bars[4].base == 0x80'0000'0000ull);
    CHECK(found[1].bars[4].size == 0x4000);
    CHECK(found[1].bars[5].kind == pci::BarKind::None); // the upper half
    CHECK(found[2].address.device == 31);
    CHECK(found[3].address.function == 2);
    CHECK(found[3].class_code == 0x01);
    CHECK(found[4].address.function == 3);
    CHECK(found[5].address.bus == 1);
    // Probing restored every BAR and the command register, and never wrote
    // a BAR while the device decoded.
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x14] == 0xFEBD1000);
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x24] == 0x80);
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x04] == 0x0007);
    CHECK(config.writes_with_decoding_on == 0);
    // Too small a table: the count says how many there were.
    pci::Function two[2] = {};
    CHECK(pci::enumerate(config, 0, 255, two, 2) == 6);
    CHECK(two[1].device == 0x1001);
    // One bus only.
    CHECK(pci::enumerate(config, 1, 1, found, 16) == 1);
}

TEST_CASE("pci: unassigned BARs get aligned addresses in the windows, and decoding on", "[pci]")
{
    FakeConfig config;
    config.functions[{ 0, 0, 0 }] = function(0x8086, 0x29C0, 0x06, 0x00);  // host bridge: left alone
    FakeFunction vga = function(0x1234, 0x1111, 0x03, 0x00);
    vga.registers[0x04] = 0; // firmware left decoding off
    vga.registers[0x10] = 0x8;          // prefetchable 32-bit, 16 MiB, unassigned
    vga.bar_masks[0x10] = 0xFF000000;
    vga.registers[0x18] = 0x0;          // 4 KiB, unassigned
    vga.bar_masks[0x18] = 0xFFFFF000;
    config.functions[{ 0, 1, 0 }] = vga;
    FakeFunction nic = function(0x8086, 0x10D3, 0x02, 0x00);
    nic.registers[0x04] = 0;
    nic.registers[0x10] = 0x1;          // 32 ports, unassigned
    nic.bar_masks[0x10] = 0xFFFFFFE0;
    nic.registers[0x14] = 0x4;          // 64-bit, 8 KiB, unassigned
    nic.bar_masks[0x14] = 0xFFFFE000;
    nic.registers[0x18] = 0x0;
    nic.bar_masks[0x18] = 0xFFFFFFFF;
    nic.registers[0x1C] = 0x0;          // 1 MiB: does not fit the window
    nic.bar_masks[0x1C] = 0xFFF00000;
    config.functions[{ 0, 2, 0 }] = nic;

    pci::Function found[8] = {};
    size_t count = pci::enumerate(config, 0, 0, found, 8);
    REQUIRE(count == 3);
    size_t assigned = pci::assign_bars(config, found, count, 0xE0000000, 0xE1010000, 0xC000, 0x10000);
    CHECK(assigned == 4);
    CHECK(found[1].bars[0].base == 0xE0000000); // 16 MiB-aligned
    CHECK(found[1].bars[2].base == 0xE1000000);
    CHECK(found[2].bars[0].base == 0xC000);
    CHECK(found[2].bars[1].base == 0xE1002000); // 8 KiB-aligned after the 4 KiB one
    CHECK(found[2].bars[3].base == 0);          // did not fit
    CHECK(config.functions[{ 0, 1, 0 }].registers[0x10] == 0xE0000008); // type bits kept
    CHECK(config.functions[{ 0, 1, 0 }].registers[0x18] == 0xE1000000);
    CHECK(config.functions[{ 0, 2, 0 }].registers[0x10] == 0xC001);
    CHECK(config.functions[{ 0, 2, 0 }].registers[0x14] == 0xE1002004);
    CHECK(config.functions[{ 0, 2, 0 }].registers[0x18] == 0);
    CHECK((config.functions[{ 0, 1, 0 }].registers[0x04] & 0x3) == 0x2); // memory decoding on
    CHECK((config.functions[{ 0, 2, 0 }].registers[0x04] & 0x3) == 0x3); // and I/O
    CHECK(config.functions[{ 0, 0, 0 }].registers[0x04] == 0x0007);      // the host bridge untouched
    // What a second walk reads back is what was assigned.
    pci::Function again[8] = {};
    REQUIRE(pci::enumerate(config, 0, 0, again, 8) == 3);
    CHECK(again[1].bars[0].base == 0xE0000000);
    CHECK(again[2].bars[1].base == 0xE1002000);
}

TEST_CASE("pci: the class names", "[pci]")
{
    CHECK(std::strcmp(pci::class_name(0x01), "storage") == 0);
    CHECK(std::strcmp(pci::class_name(0x06), "bridge") == 0);
    CHECK(std::strcmp(pci::class_name(0xEE), "other") == 0);
}

namespace {

// QEMU q35's MCFG as qboot passes it on (tests/host/fixtures/qboot-smp1/MCFG.bin).
std::vector<uint8_t> qemu_mcfg()
{
    return {
        0x4D, 0x43, 0x46, 0x47, 0x3C, 0x00, 0x00, 0x00, 0x01, 0x8C, 0x42, 0x4F,
        0x43, 0x48, 0x53, 0x20, 0x42, 0x58, 0x50, 0x43, 0x20, 0x20, 0x20, 0x20,
        0x01, 0x00, 0x00, 0x00, 0x42, 0x58, 0x50, 0x43, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xB0,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00,
    };
}

void fix_checksum(std::vector<uint8_t>& table)
{
    table[9] = 0;
    uint8_t sum = 0;
    for (uint8_t byte : table)
        sum = static_cast<uint8_t>(sum + byte);
    table[9] = static_cast<uint8_t>(-sum);
}

herald::Error mcfg_error(const std::vector<uint8_t>& table)
{
    herald::McfgAreas areas;
    auto result = herald::parse_mcfg(herald::ByteReader(table.data(), table.size()), areas);
    REQUIRE(result.is_error());
    return result.error();
}

} // namespace

TEST_CASE("mcfg: QEMU q35's table gives segment 0, buses 0-255 at 0xB0000000", "[pci][mcfg]")
{
    std::vector<uint8_t> table = qemu_mcfg();
    herald::McfgAreas areas;
    REQUIRE_FALSE(herald::parse_mcfg(herald::ByteReader(table.data(), table.size()), areas).is_error());
    REQUIRE(areas.count == 1);
    CHECK(areas.areas[0].base == 0xB000'0000);
    CHECK(areas.areas[0].segment == 0);
    CHECK(areas.areas[0].start_bus == 0);
    CHECK(areas.areas[0].end_bus == 255);
    CHECK(areas.areas[0].length() == 256ull << 20);
}

TEST_CASE("mcfg: corrupt tables are refused with the reason", "[pci][mcfg]")
{
    std::vector<uint8_t> table = qemu_mcfg();
    std::vector<uint8_t> bad = table;
    bad[0] = 'X';
    CHECK(mcfg_error(bad) == herald::Error::BadMagic);
    bad = table;
    bad[20] ^= 1; // checksum now wrong
    CHECK(mcfg_error(bad) == herald::Error::BadChecksum);
    bad = std::vector<uint8_t>(table.begin(), table.begin() + 20);
    CHECK(mcfg_error(bad) == herald::Error::Truncated);
    bad = table; // an entry cut in half
    bad.resize(table.size() - 8);
    bad[4] = static_cast<uint8_t>(bad.size());
    fix_checksum(bad);
    CHECK(mcfg_error(bad) == herald::Error::BadLength);
    bad = table; // end bus below start bus
    bad[44 + 10] = 5;
    bad[44 + 11] = 4;
    fix_checksum(bad);
    CHECK(mcfg_error(bad) == herald::Error::OutOfRange);
    bad = table; // base not 1 MiB-aligned
    bad[44 + 1] = 0x10;
    fix_checksum(bad);
    CHECK(mcfg_error(bad) == herald::Error::OutOfRange);
    bad = table; // past 2^52
    bad[44 + 7] = 0x10;
    fix_checksum(bad);
    CHECK(mcfg_error(bad) == herald::Error::OutOfRange);
}

TEST_CASE("pci: bus mastering on and off, the rest of the command register kept, status never written", "[pci]")
{
    FakeConfig config;
    config.functions[{ 0, 3, 0 }] = function(0x1af4, 0x1042, 0x01, 0x00);
    pci::Address a { 0, 3, 0 };
    config.functions[{ 0, 3, 0 }].registers[0x04] = 0x0010'0003; // status: capability list; memory + I/O decoding
    CHECK_FALSE(pci::bus_master(config, a));
    pci::set_bus_master(config, a, true);
    CHECK(pci::bus_master(config, a));
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x04] == 0x0007); // status bits written as zeros (RW1C)
    pci::set_bus_master(config, a, false);
    CHECK_FALSE(pci::bus_master(config, a));
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x04] == 0x0003); // decoding stays on
}

TEST_CASE("pci: INTx Disable set and cleared alone, status never written; Memory Space read", "[pci]")
{
    FakeConfig config;
    config.functions[{ 0, 3, 0 }] = function(0x1af4, 0x1042, 0x01, 0x00);
    pci::Address a { 0, 3, 0 };
    config.functions[{ 0, 3, 0 }].registers[0x04] = 0x0018'0006; // status: INTx pending, capability list; memory + bus master
    CHECK_FALSE(pci::intx_disabled(config, a));
    CHECK(pci::memory_space(config, a));
    pci::set_intx_disabled(config, a, true);
    CHECK(pci::intx_disabled(config, a));
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x04] == 0x0406); // bit 10; status written as zeros (RW1C)
    pci::set_intx_disabled(config, a, false);
    CHECK_FALSE(pci::intx_disabled(config, a));
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x04] == 0x0006);
    config.functions[{ 0, 3, 0 }].registers[0x04] = 0x0005; // I/O decoding and bus master, no memory
    CHECK_FALSE(pci::memory_space(config, a));
}

namespace {

// A virtio-blk function as QEMU builds it: a capability list with a
// vendor-specific capability, then MSI-X (3 entries, table at BAR 1 + 0,
// PBA at BAR 1 + 0x800), then another vendor one.
FakeConfig msix_function(uint32_t list_status = 0x0010'0000)
{
    FakeConfig config;
    FakeFunction f = function(0x1af4, 0x1001, 0x01, 0x00);
    f.registers[0x04] = list_status | 0x0007;
    f.registers[0x34] = 0x84;
    f.registers[0x84] = 0x0014'9809;  // vendor (09), next 0x98, length 0x14
    f.registers[0x98] = 0x0002'7011;  // MSI-X (11), next 0x70, table size 2 + 1
    f.registers[0x9C] = 0x0000'0001;  // table: BAR 1, offset 0
    f.registers[0xA0] = 0x0000'0801;  // PBA: BAR 1, offset 0x800
    f.registers[0x70] = 0x0010'0009;  // vendor, the last
    config.functions[{ 0, 3, 0 }] = f;
    return config;
}

} // namespace

TEST_CASE("pci: MSI-X is found on the capability list with its table's BAR, offset and size", "[pci][msix]")
{
    FakeConfig config = msix_function();
    pci::Msix msix = pci::find_msix(config, { 0, 3, 0 });
    CHECK(msix.capability == 0x98);
    CHECK(msix.table_size == 3);
    CHECK(msix.table_bar == 1);
    CHECK(msix.table_offset == 0);

    config.functions[{ 0, 3, 0 }].registers[0x9C] = 0x0000'2004; // BAR 4, offset 0x2000
    msix = pci::find_msix(config, { 0, 3, 0 });
    CHECK(msix.table_bar == 4);
    CHECK(msix.table_offset == 0x2000);
    config.functions[{ 0, 3, 0 }].registers[0x9C] = 0x0000'2006; // BIR 6: no such BAR
    CHECK(pci::find_msix(config, { 0, 3, 0 }).capability == 0);
}

TEST_CASE("pci: no MSI-X without a capability list, without the capability, or on a looping list", "[pci][msix]")
{
    FakeConfig none = msix_function(0); // status says: no list
    CHECK(pci::find_msix(none, { 0, 3, 0 }).capability == 0);

    FakeConfig without = msix_function();
    without.functions[{ 0, 3, 0 }].registers[0x84] = 0x0014'7009; // vendor -> 0x70 -> end: MSI-X skipped
    CHECK(pci::find_msix(without, { 0, 3, 0 }).capability == 0);

    FakeConfig loop = msix_function();
    loop.functions[{ 0, 3, 0 }].registers[0x84] = 0x0014'8409; // points at itself
    CHECK(pci::find_msix(loop, { 0, 3, 0 }).capability == 0);

    FakeConfig low = msix_function();
    low.functions[{ 0, 3, 0 }].registers[0x34] = 0x20; // into the header: not a capability
    CHECK(pci::find_msix(low, { 0, 3, 0 }).capability == 0);
}

TEST_CASE("pci: MSI-X on clears the function mask, off sets it; the id and next pointer are kept", "[pci][msix]")
{
    FakeConfig config = msix_function();
    pci::Address a { 0, 3, 0 };
    pci::Msix msix = pci::find_msix(config, a);
    CHECK_FALSE(pci::msix_enabled(config, a, msix));
    config.functions[{ 0, 3, 0 }].registers[0x98] |= 0x4000'0000; // function mask set
    pci::set_msix_enabled(config, a, msix, true);
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x98] == 0x8002'7011);
    CHECK(pci::msix_enabled(config, a, msix));
    pci::set_msix_enabled(config, a, msix, false);
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x98] == 0x4002'7011);
    CHECK_FALSE(pci::msix_enabled(config, a, msix));
    pci::set_msix_enabled(config, a, pci::Msix {}, true); // no capability: nothing written
    CHECK(config.functions[{ 0, 3, 0 }].registers[0x98] == 0x4002'7011);
}

TEST_CASE("pci: an MSI-X table entry holds the message, unmasked; its neighbours stay", "[pci][msix]")
{
    // A volatile array cannot record order; the entry ends as the message,
    // unmasked, and a second write replaces it whole.
    volatile uint32_t table[8] = { 0xAAAA, 0xBBBB, 0xCCCC, 1, 0, 0, 0, 1 };
    pci::write_msix_entry(table + 4, 0xFEE0'3000, 0x61);
    CHECK(table[4] == 0xFEE0'3000);
    CHECK(table[5] == 0);
    CHECK(table[6] == 0x61);
    CHECK(table[7] == 0); // unmasked
    CHECK(table[0] == 0xAAAA); // entry 0 untouched
    CHECK(table[3] == 1);
    pci::write_msix_entry(table, 0x1'FEE0'0000, 0x60);
    CHECK(table[0] == 0xFEE0'0000);
    CHECK(table[1] == 1);
    CHECK(table[2] == 0x60);
    CHECK(table[3] == 0);
}

TEST_CASE("pci: a released MSI-X entry is masked and holds no message; its neighbours stay", "[pci][msix]")
{
    volatile uint32_t table[8] = { 0xFEE0'3000, 0, 0x61, 0, 0xFEE0'4000, 0, 0x62, 0 };
    pci::mask_msix_entry(table + 4);
    CHECK(table[4] == 0);
    CHECK(table[5] == 0);
    CHECK(table[6] == 0);
    CHECK(table[7] == 1); // masked
    CHECK(table[0] == 0xFEE0'3000); // entry 0 untouched, unmasked
    CHECK(table[2] == 0x61);
    CHECK(table[3] == 0);
}
