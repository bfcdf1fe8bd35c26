// Host tests of the INTx routes (intx_route.hpp; ctest: host-pci): the q35
// table against QEMU's own DSDT (its _PRT for APIC mode, PRTA, which names
// the GSI links GSIA-GSIH for every slot and pin: tests/data/acpi/q35/DSDT
// in QEMU's tree), the i440fx swizzle and its route registers, the chipset
// found by its bridges, and what is refused.
#include "intx_route.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <tuple>

namespace {

// Registers by (bus, device, function, offset); absent functions read all ones.
class FakeConfig final : public pci::ConfigSpace {
public:
    std::map<std::tuple<int, int, int, int>, uint32_t> registers;
    int writes = 0;

    uint32_t read32(pci::Address a, uint16_t offset) override
    {
        auto it = registers.find({ a.bus, a.device, a.function, offset });
        if (it != registers.end())
            return it->second;
        return registers.count({ a.bus, a.device, a.function, 0 }) ? 0 : 0xFFFF'FFFF;
    }
    void write32(pci::Address a, uint16_t offset, uint32_t value) override
    {
        ++writes;
        registers[{ a.bus, a.device, a.function, offset }] = value;
    }
    void put(int device, uint16_t vendor, uint16_t id) { registers[{ 0, device, 0, 0 }] = uint32_t(id) << 16 | vendor; }
};

FakeConfig q35()
{
    FakeConfig config;
    config.put(0, 0x8086, 0x29C0);
    config.put(31, 0x8086, 0x2918);
    return config;
}

FakeConfig i440fx(uint32_t routes)
{
    FakeConfig config;
    config.put(0, 0x8086, 0x1237);
    config.put(1, 0x8086, 0x7000);
    config.registers[{ 0, 1, 0, 0x60 }] = routes;
    return config;
}

pci::Function function_at(uint8_t bus, uint8_t slot, uint8_t pin)
{
    pci::Function f {};
    f.address = pci::Address { bus, slot, 0 };
    f.irq_pin = pin;
    f.irq_line = 10; // what a firmware wrote for PIC mode: never the answer on q35
    return f;
}

// QEMU's q35 DSDT, PRTA: slot -> the GSI link of INTA (the others follow in
// order, wrapping E-H or A-D). Read off the table: slots 0-24 start at
// GSIE + slot % 4; 25-29 and 31 at GSIA; 30 at GSIE.
uint32_t dsdt_gsi(uint8_t slot, uint8_t pin)
{
    const uint32_t gsia = 16, gsie = 20;
    uint8_t intx = pin - 1;
    if (slot <= 24)
        return gsie + (slot % 4 + intx) % 4;
    if (slot == 30)
        return gsie + intx;
    return gsia + intx;
}

} // namespace

TEST_CASE("intx: the chipset is found by its host bridge and interrupt router", "[intx]")
{
    FakeConfig a = q35();
    CHECK(pci::identify_chipset(a) == pci::Chipset::Q35);
    FakeConfig b = i440fx(0x80808080);
    CHECK(pci::identify_chipset(b) == pci::Chipset::I440fx);
    FakeConfig c; // the q35 host bridge without its LPC bridge: not QEMU's q35
    c.put(0, 0x8086, 0x29C0);
    CHECK(pci::identify_chipset(c) == pci::Chipset::Unknown);
    FakeConfig d;
    d.put(0, 0x1022, 0x1480); // some other vendor's root complex
    d.put(31, 0x8086, 0x2918);
    CHECK(pci::identify_chipset(d) == pci::Chipset::Unknown);
}

TEST_CASE("intx: q35 routes every slot and pin of bus 0 as QEMU's DSDT says", "[intx]")
{
    FakeConfig config = q35();
    for (uint8_t slot = 0; slot < 32; ++slot) {
        for (uint8_t pin = 1; pin <= 4; ++pin) {
            pci::IntxRoute route = pci::route_intx(config, pci::Chipset::Q35, function_at(0, slot, pin));
            INFO("slot " << int(slot) << " pin " << int(pin));
            REQUIRE(route.status == pci::RouteStatus::Ok);
            CHECK(route.line == dsdt_gsi(slot, pin));
            CHECK(route.line == 16 + route.pirq);
        }
    }
    CHECK(config.writes == 0);
    // The disk as ./herald and the tests attach it: 00:03.0, INTA -> PIRQH -> GSI 23.
    CHECK(pci::q35_pirq(3, 1) == 7);
    CHECK(pci::route_intx(config, pci::Chipset::Q35, function_at(0, 3, 1)).line == 23);
    // The e1000e at 00:02.0: PIRQG, GSI 22; AHCI at 00:1f.2, INTA: PIRQA, GSI 16.
    CHECK(pci::route_intx(config, pci::Chipset::Q35, function_at(0, 2, 1)).line == 22);
    CHECK(pci::route_intx(config, pci::Chipset::Q35, function_at(0, 31, 1)).line == 16);
}

TEST_CASE("intx: i440fx swizzles slot and pin and follows the PIIX's route registers", "[intx]")
{
    // SeaBIOS's routes: PIRQA, B -> IRQ 10, PIRQC, D -> IRQ 11.
    FakeConfig config = i440fx(0x0B0B0A0A);
    CHECK(pci::piix_pirq(0, 1) == 3); // (0 - 1 + 0) & 3
    CHECK(pci::piix_pirq(1, 1) == 0);
    CHECK(pci::piix_pirq(3, 1) == 2);
    CHECK(pci::piix_pirq(3, 4) == 1);
    CHECK(pci::piix_pirq(31, 2) == 3);
    for (uint8_t slot = 0; slot < 32; ++slot) {
        for (uint8_t pin = 1; pin <= 4; ++pin) {
            INFO("slot " << int(slot) << " pin " << int(pin));
            int pirq = (slot - 1 + (pin - 1)) & 3; // QEMU's pci_slot_get_pirq, as written there
            pci::IntxRoute route = pci::route_intx(config, pci::Chipset::I440fx, function_at(0, slot, pin));
            REQUIRE(route.status == pci::RouteStatus::Ok);
            CHECK(route.pirq == pirq);
            CHECK(route.line == (pirq < 2 ? 10u : 11u));
        }
    }
    // The disk at 00:04.0 under -machine pc (VGA at 2, e1000 at 3): PIRQD -> IRQ 11.
    CHECK(pci::route_intx(config, pci::Chipset::I440fx, function_at(0, 4, 1)).line == 11);
}

TEST_CASE("intx: what cannot be routed is refused with its reason", "[intx]")
{
    FakeConfig config = q35();
    CHECK(pci::route_intx(config, pci::Chipset::Q35, function_at(0, 3, 0)).status == pci::RouteStatus::NoPin);
    CHECK(pci::route_intx(config, pci::Chipset::Q35, function_at(0, 3, 5)).status == pci::RouteStatus::NoPin);
    CHECK(pci::route_intx(config, pci::Chipset::Q35, function_at(1, 0, 1)).status == pci::RouteStatus::BehindBridge);
    CHECK(pci::route_intx(config, pci::Chipset::Unknown, function_at(0, 3, 1)).status == pci::RouteStatus::UnknownChipset);
    // i440fx: PIRQA unrouted (reset value 0x80), PIRQB to IRQ 2 (reserved), PIRQC to 13, PIRQD to IRQ 5.
    FakeConfig pc = i440fx(0x050D0280);
    CHECK(pci::route_intx(pc, pci::Chipset::I440fx, function_at(0, 1, 1)).status == pci::RouteStatus::Disabled);
    CHECK(pci::route_intx(pc, pci::Chipset::I440fx, function_at(0, 2, 1)).status == pci::RouteStatus::BadIrq);
    CHECK(pci::route_intx(pc, pci::Chipset::I440fx, function_at(0, 3, 1)).status == pci::RouteStatus::BadIrq);
    pci::IntxRoute ok = pci::route_intx(pc, pci::Chipset::I440fx, function_at(0, 4, 1));
    CHECK(ok.status == pci::RouteStatus::Ok);
    CHECK(ok.line == 5);
    for (auto status : { pci::RouteStatus::Ok, pci::RouteStatus::NoPin, pci::RouteStatus::BehindBridge,
             pci::RouteStatus::UnknownChipset, pci::RouteStatus::Disabled, pci::RouteStatus::BadIrq })
        CHECK(std::string(pci::route_status_name(status)) != "?");
}

TEST_CASE("intx: q35's PIC routes of all eight PIRQs are turned off, the IRQ bits kept", "[intx]")
{
    FakeConfig config = q35();
    config.registers[{ 0, 31, 0, 0x60 }] = 0x0B0B0A0A; // a PIC-mode firmware's routes
    config.registers[{ 0, 31, 0, 0x68 }] = 0x8B0B0A0A; // PIRQH off already
    pci::q35_disable_pic_routes(config);
    CHECK(config.registers[{ 0, 31, 0, 0x60 }] == 0x8B8B8A8A);
    CHECK(config.registers[{ 0, 31, 0, 0x68 }] == 0x8B8B8A8A);
    int writes = config.writes;
    pci::q35_disable_pic_routes(config); // all off already: nothing written again
    CHECK(config.writes == writes);
}

TEST_CASE("intx: one function owns a line while its driver runs; others are Busy", "[intx]")
{
    using Take = pci::IntxLineOwners::Take;
    pci::IntxLineOwners owners;
    bool running[8] = { true, true, true, true, true, true, true, true };
    auto runs = [&](uint16_t index) { return running[index]; };
    CHECK(owners.owner(23) == pci::IntxLineOwners::kNone);
    auto first = owners.take(23, 3, runs);
    CHECK(first.take == Take::Taken);
    CHECK(first.previous == pci::IntxLineOwners::kNone);
    CHECK(owners.owner(23) == 3);
    // Another function whose INTx reaches GSI 23 too: Busy while 3's driver runs.
    CHECK(owners.take(23, 4, runs).take == Take::Busy);
    CHECK(owners.owner(23) == 3);
    // The owner asks again: still its own.
    auto again = owners.take(23, 3, runs);
    CHECK(again.take == Take::Taken);
    CHECK(again.previous == pci::IntxLineOwners::kNone);
    // Other lines are independent.
    CHECK(owners.take(22, 4, runs).take == Take::Taken);
    // The owner's driver ended: the line goes to 4, which names 3 to silence.
    running[3] = false;
    auto next = owners.take(23, 4, runs);
    CHECK(next.take == Take::Taken);
    CHECK(next.previous == 3);
    CHECK(owners.owner(23) == 4);
    // 4 changes hands (a new driver's Claim): it owns no line any more.
    owners.release(4);
    CHECK(owners.owner(23) == pci::IntxLineOwners::kNone);
    CHECK(owners.owner(22) == pci::IntxLineOwners::kNone);
    running[3] = true;
    CHECK(owners.take(23, 3, runs).take == Take::Taken);
    // A line beyond the table is refused, not written out of bounds.
    CHECK(owners.take(pci::IntxLineOwners::kMaxLines, 1, runs).take == Take::BadLine);
    CHECK(owners.owner(pci::IntxLineOwners::kMaxLines) == pci::IntxLineOwners::kNone);
}
