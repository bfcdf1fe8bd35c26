// I/O APICs: where device interrupt lines (ISA IRQs, PCI INTx) become
// messages to local APICs (82093AA datasheet; ACPI 6.5 §5.2.12.3).
#pragma once

#include "../../acpi/platform_topology.hpp"
#include "../../lib/optional.hpp"

namespace herald::x86::ioapic {

// Maps every I/O APIC and masks all of its inputs.
void init(const PlatformTopology& topology);

// Routes ISA `irq` (following the firmware's interrupt source overrides)
// to `vector` on the CPU `apic_id`. False if no I/O APIC serves it.
bool route_isa_irq(u8 irq, u8 vector, u32 apic_id);

// Interrupt lines as drivers name them (docs/drivers.md): below 16 an ISA
// IRQ, through the firmware's overrides (edge, active high unless an
// override says otherwise); from 16 on the I/O APIC input with that global
// system interrupt number, level-triggered and active low as PCI's INTx
// lines are (PCI Local Bus 3.0 §2.2.6). The GSI behind `irq`; nullopt if no
// I/O APIC serves it.
Optional<u32> gsi_of_line(u32 irq);
// Routes line `irq` to `vector` on `apic_id`, masked or not. False if no
// I/O APIC serves it.
bool route_line(u32 irq, u8 vector, u32 apic_id, bool masked);
// Masks or unmasks a line routed before (route_line, route_isa_irq).
void set_line_masked(u32 irq, bool masked);

usize input_count();

} // namespace herald::x86::ioapic
