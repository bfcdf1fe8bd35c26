#include "intx_route.hpp"

namespace pci {

namespace {

constexpr uint16_t kIntelVendor = 0x8086;
constexpr uint16_t kQ35HostBridge = 0x29C0;  // QEMU's MCH (hw/pci-host/q35.c)
constexpr uint16_t kIch9Lpc = 0x2918;        // QEMU's ICH9 LPC bridge (hw/isa/lpc_ich9.c)
constexpr uint16_t kI440fxHostBridge = 0x1237;
constexpr uint16_t kPiix3Isa = 0x7000;
constexpr Address kHostBridgeAt { 0, 0, 0 };
constexpr Address kIch9LpcAt { 0, 31, 0 };
constexpr Address kPiix3At { 0, 1, 0 };
constexpr uint16_t kVendorDevice = 0x00;

constexpr uint8_t kPins = 4;                   // INTA-INTD
constexpr uint8_t kQ35FirstChipsetSlot = 25;   // D25IR-D31IR route these slots
constexpr uint8_t kQ35DmiBridgeSlot = 30;      // ich9_cc_update: INTA-INTD -> PIRQ E-H
constexpr uint8_t kFirstUpperPirq = 4;         // PIRQ E
// The route registers: PIRQA-D at 0x60-0x63 (PIIX3 and ICH9), PIRQE-H at
// 0x68-0x6B (ICH9 only). Bit 7 set: not routed to the 8259; low 4 bits: the IRQ.
constexpr uint16_t kPirqRouteLow = 0x60;
constexpr uint16_t kPirqRouteHigh = 0x68;
constexpr uint8_t kRouteDisabled = 0x80;
constexpr uint8_t kRouteIrqMask = 0x0F;
// PIIX3 datasheet §2.2.7 (PIRQRC): IRQ 0-2, 8 and 13 are reserved.
constexpr uint16_t kPciCapableIrqs = 0b1101'1110'1111'1000; // 3-7, 9-12, 14, 15

uint16_t device_at(ConfigSpace& config, Address address, uint16_t& vendor)
{
    uint32_t id = config.read32(address, kVendorDevice);
    vendor = static_cast<uint16_t>(id);
    return static_cast<uint16_t>(id >> 16);
}

bool is(ConfigSpace& config, Address address, uint16_t device)
{
    uint16_t vendor = 0;
    return device_at(config, address, vendor) == device && vendor == kIntelVendor;
}

// The byte of PIRQ `pirq`'s route register, and where it lives.
uint16_t route_register(uint8_t pirq) { return pirq < kFirstUpperPirq ? kPirqRouteLow : kPirqRouteHigh; }
unsigned route_shift(uint8_t pirq) { return 8u * (pirq % kFirstUpperPirq); }

} // namespace

Chipset identify_chipset(ConfigSpace& config)
{
    if (is(config, kHostBridgeAt, kQ35HostBridge) && is(config, kIch9LpcAt, kIch9Lpc))
        return Chipset::Q35;
    if (is(config, kHostBridgeAt, kI440fxHostBridge) && is(config, kPiix3At, kPiix3Isa))
        return Chipset::I440fx;
    return Chipset::Unknown;
}

const char* chipset_name(Chipset chipset)
{
    switch (chipset) {
    case Chipset::Q35: return "q35 (ICH9)";
    case Chipset::I440fx: return "i440fx (PIIX3)";
    case Chipset::Unknown: break;
    }
    return "unknown";
}

const char* route_status_name(RouteStatus status)
{
    switch (status) {
    case RouteStatus::Ok: return "routed";
    case RouteStatus::NoPin: return "the function has no INTx pin";
    case RouteStatus::BehindBridge: return "behind a bridge (its swizzle is not done)";
    case RouteStatus::UnknownChipset: return "unknown chipset (only ACPI _PRT knows, and Herald reads no AML)";
    case RouteStatus::Disabled: return "the firmware left its PIRQ unrouted";
    case RouteStatus::BadIrq: return "its PIRQ is routed to a reserved IRQ";
    }
    return "?";
}

uint8_t q35_pirq(uint8_t slot, uint8_t pin)
{
    uint8_t intx = static_cast<uint8_t>((pin - 1) % kPins);
    if (slot == kQ35DmiBridgeSlot)
        return static_cast<uint8_t>(kFirstUpperPirq + intx);
    if (slot >= kQ35FirstChipsetSlot)
        return intx; // D25IR-D31IR at their reset value 0x3210: INTA-D -> PIRQA-D
    return static_cast<uint8_t>((slot + intx) % kPins + kFirstUpperPirq);
}

uint8_t piix_pirq(uint8_t slot, uint8_t pin)
{
    // (slot - 1 + intx) & 3, kept unsigned: + 3 is - 1 modulo 4.
    return static_cast<uint8_t>((slot + 3u + (pin - 1u)) % kPins);
}

IntxRoute route_intx(ConfigSpace& config, Chipset chipset, const Function& function)
{
    uint8_t pin = function.irq_pin;
    if (pin == 0 || pin > kPins)
        return IntxRoute { RouteStatus::NoPin, 0, 0 };
    if (chipset == Chipset::Unknown)
        return IntxRoute { RouteStatus::UnknownChipset, 0, 0 };
    if (function.address.bus != 0)
        return IntxRoute { RouteStatus::BehindBridge, 0, 0 };
    uint8_t slot = function.address.device;
    if (chipset == Chipset::Q35) {
        uint8_t pirq = q35_pirq(slot, pin);
        return IntxRoute { RouteStatus::Ok, pirq, kQ35FirstPirqGsi + pirq };
    }
    uint8_t pirq = piix_pirq(slot, pin);
    uint8_t route = static_cast<uint8_t>(config.read32(kPiix3At, kPirqRouteLow) >> route_shift(pirq));
    if (route & kRouteDisabled)
        return IntxRoute { RouteStatus::Disabled, pirq, 0 };
    uint8_t irq = route & kRouteIrqMask;
    if (!(kPciCapableIrqs & (1u << irq)))
        return IntxRoute { RouteStatus::BadIrq, pirq, 0 };
    return IntxRoute { RouteStatus::Ok, pirq, irq };
}

void q35_disable_pic_routes(ConfigSpace& config)
{
    constexpr uint8_t kPirqs = 8; // PIRQ A-H
    for (uint8_t pirq = 0; pirq < kPirqs; ++pirq) {
        uint16_t offset = route_register(pirq);
        uint32_t routes = config.read32(kIch9LpcAt, offset);
        uint32_t bit = static_cast<uint32_t>(kRouteDisabled) << route_shift(pirq);
        if (!(routes & bit))
            config.write32(kIch9LpcAt, offset, routes | bit);
    }
}

} // namespace pci
