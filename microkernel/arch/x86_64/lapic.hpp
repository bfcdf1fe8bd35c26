// The local APIC of each CPU (SDM Vol. 3A Chapter 11): interrupts between
// CPUs, the per-CPU timer, end-of-interrupt.
//
// Herald uses x2APIC mode (registers as MSRs, 32-bit APIC ids) when the CPU
// has it, and xAPIC mode (registers in a 4 KiB MMIO page, 8-bit ids)
// otherwise. Callers do not see the difference.
#pragma once

#include "../../lib/address.hpp"
#include "../../lib/types.hpp"

namespace herald::x86::lapic {

// Once, on the boot CPU: picks the mode and maps the xAPIC page if needed.
void init_boot_cpu(PhysicalAddress xapic_base, bool use_x2apic);
// On every CPU (the boot CPU included): enables the APIC in the chosen mode,
// with the spurious vector, masked LINT0/LINT1 and timer.
void init_this_cpu();

bool x2apic_mode();
u32 id();
void end_of_interrupt();

// Sends INIT, then STARTUP with the 4 KiB page `trampoline_page` (below
// 1 MiB) to the CPU `apic_id` (SDM Vol. 3A §9.4.4.1, "Typical AP startup").
void send_init(u32 apic_id);
void send_startup(u32 apic_id, u8 trampoline_page);
void send_ipi(u32 apic_id, u8 vector);

// The timer: calibrated once against the TSC, then armed per CPU.
void calibrate_timer();
u64 timer_ticks_per_ms();
void start_periodic_timer(u64 period_ms);
void stop_timer();

} // namespace herald::x86::lapic
