// Interrupt vector numbers Herald uses. 0-31 are the CPU's exceptions.
// Higher vectors have higher priority at the local APIC (SDM Vol. 3A §11.8.3).
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86 {

inline constexpr u8 kVectorTimer = 0x20;        // local APIC timer: the scheduler tick
inline constexpr u8 kVectorReschedule = 0x21;   // IPI: "look at your run queue"
inline constexpr u8 kVectorPingIpi = 0x22;      // IPI used by tests and the IPI benchmark
inline constexpr u8 kVectorPongIpi = 0x23;      // the IPI benchmark's answer
inline constexpr u8 kVectorTlbShootdown = 0x24; // IPI: "invalidate these pages" (smp/tlb_shootdown.hpp)
inline constexpr u8 kVectorFirstIrq = 0x30;     // I/O APIC inputs start here (48 lines: ipc/irq.hpp)
inline constexpr u8 kVectorFirstMsi = 0x60;     // the MSI pool (64 vectors: ipc/irq.hpp), after them
inline constexpr u8 kVectorLapicError = 0xFE;
inline constexpr u8 kVectorSpurious = 0xFF;     // low nibble must be all ones on old APICs

} // namespace herald::x86
