// I/O APICs: where device interrupt lines (ISA IRQs, PCI INTx) become
// messages to local APICs (82093AA datasheet; ACPI 6.5 §5.2.12.3).
#pragma once

#include "../../acpi/platform_topology.hpp"

namespace herald::x86::ioapic {

// Maps every I/O APIC and masks all of its inputs.
void init(const PlatformTopology& topology);

// Routes ISA `irq` (following the firmware's interrupt source overrides)
// to `vector` on the CPU `apic_id`. False if no I/O APIC serves it.
bool route_isa_irq(u8 irq, u8 vector, u32 apic_id);

usize input_count();

} // namespace herald::x86::ioapic
