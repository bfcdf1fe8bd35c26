// Where a PCI function's INTx pin reaches the interrupt controllers: the
// route from (slot, pin) to the interrupt line a driver binds (the kernel's
// numbering, docs/drivers.md: below 16 an ISA IRQ, from 16 on the I/O APIC
// input with that GSI). The general answer is the ACPI _PRT, which needs an
// AML interpreter; Herald has none, so this file knows the two chipsets
// QEMU emulates, read from QEMU's own source, and refuses every other one
// (RouteStatus says why). Portable and freestanding: the host tests
// (intx_route_test.cpp) check the tables against QEMU's DSDT.
//
// q35 (MCH 8086:29c0 with the ICH9 LPC bridge 8086:2918 at 00:1f.0), QEMU
// hw/isa/lpc_ich9.c: each slot's INTA-INTD go to one of eight PIRQs, A-H.
// Slots 0-24: PIRQ (slot + pin - 1) % 4 + 4 (pin 1-4), that is E-H (ich9_cc_init; A-D are
// left to the chipset's own devices). Slots 25-31: the D25IR-D31IR chipset
// registers, whose reset value 0x3210 (hw/i386/ich9.h ICH9_CC_DIR_DEFAULT)
// sends INTA-INTD to PIRQ A-D; slot 30 (the DMI-to-PCI bridge) to E-H.
// ich9_lpc_set_irq drives, for PIRQ n, always the I/O APIC's input 16 + n
// (ich9_pirq_to_gsi: "APIC mode: PIRQ[A-H] -> GSI 16, ..."), and besides
// it the 8259 input that the PIRQ's route register (LPC configuration
// 0x60-0x63 for A-D, 0x68-0x6B for E-H) names, unless that register's bit 7
// is set. QEMU's DSDT says the same (_PRT's APIC table PRTA: GSIA-GSIH,
// each `Interrupt (Level, ActiveHigh, Shared)` at GSI 16-23).
//
// i440fx (`-machine pc`: host bridge 8086:1237, PIIX3 8086:7000 at 00:01.0),
// QEMU's PIIX3 model (pci_slot_get_pirq, hw/isa/piix3.c in QEMU 7.2): slot
// S's pin P (0-3) raises PIRQ (S - 1 + P) & 3, which the PIIX's route
// register at 0x60 + PIRQ sends to the ISA IRQ in its low 4 bits, unless
// bit 7 is set. There is no APIC route of its own: that ISA IRQ is what the
// I/O APIC sees too (through the MADT's source overrides, which QEMU gives
// IRQs 5, 9, 10 and 11 as level-triggered, active high).
#pragma once

#include <stdint.h>

#include "pci_config.hpp"

namespace pci {

enum class Chipset : uint8_t { Unknown, Q35, I440fx };

// Which chipset the bus belongs to, by its host bridge (00:00.0) and its
// interrupt router (the LPC or ISA bridge).
Chipset identify_chipset(ConfigSpace& config);
const char* chipset_name(Chipset chipset);

enum class RouteStatus : uint8_t {
    Ok,
    NoPin,          // the function has no INTx pin (its interrupt-pin register is 0, or above 4)
    BehindBridge,   // not on bus 0: the bridges' swizzle is not done
    UnknownChipset, // neither q35 nor i440fx: only the ACPI _PRT knows
    Disabled,       // i440fx: the firmware turned the PIRQ's route off (bit 7)
    BadIrq,         // i440fx: the route names an IRQ no PCI interrupt may use
};

struct IntxRoute {
    RouteStatus status;
    uint8_t pirq; // 0-7: PIRQ A-H
    uint32_t line; // the interrupt line to bind (Ok only)
};

const char* route_status_name(RouteStatus status);

// The q35 tables (pin 1-4 is INTA-INTD, as the interrupt-pin register says).
uint8_t q35_pirq(uint8_t slot, uint8_t pin);
inline constexpr uint32_t kQ35FirstPirqGsi = 16; // ich9_pirq_to_gsi
// The i440fx swizzle.
uint8_t piix_pirq(uint8_t slot, uint8_t pin);

// The route of `function`'s INTx on `chipset` (the i440fx's reads the PIIX's
// route register through `config`).
IntxRoute route_intx(ConfigSpace& config, Chipset chipset, const Function& function);

// q35: turns the 8259 route of all eight PIRQs off (bit 7 of each route
// register), once at the server's start, so that a function's INTx reaches
// its GSI alone and not also an ISA IRQ the firmware chose for PIC mode
// (which another driver could bind). Herald never runs PCI on the 8259.
void q35_disable_pic_routes(ConfigSpace& config);

// One holder per routed line: which function (its index in the server's
// list) owns each line, so that a driver of another function whose INTx
// reaches the same line cannot bind it first and deny or flood the owner.
// The owner keeps the line while its driver runs; `running(index)` says
// whether function `index`'s holder still runs.
class IntxLineOwners {
public:
    static constexpr uint32_t kMaxLines = 24; // ISA IRQs 0-15 and q35's GSIs 16-23
    static constexpr uint16_t kNone = 0xFFFF;

    enum class Take : uint8_t { Taken, Busy, BadLine };
    struct Result {
        Take take;
        uint16_t previous; // the owner replaced (its INTx to turn off again), kNone: none
    };

    template<typename Running>
    Result take(uint32_t line, uint16_t index, Running running)
    {
        if (line >= kMaxLines)
            return { Take::BadLine, kNone };
        uint16_t owner = m_owner[line];
        if (owner != kNone && owner != index && running(owner))
            return { Take::Busy, kNone };
        m_owner[line] = index;
        return { Take::Taken, owner == index ? kNone : owner };
    }
    // Function `index` changes hands (a new driver's Claim): it owns no line.
    void release(uint16_t index)
    {
        for (uint16_t& owner : m_owner) {
            if (owner == index)
                owner = kNone;
        }
    }
    uint16_t owner(uint32_t line) const { return line < kMaxLines ? m_owner[line] : kNone; }

private:
    uint16_t m_owner[kMaxLines] = { kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone,
        kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone };
};

} // namespace pci
