// The time-stamp counter as Herald's clock: calibrated once at boot against
// the PIT, whose input clock is fixed by the PC platform.
#pragma once

#include "../../lib/optional.hpp"
#include "../../lib/types.hpp"

namespace herald::tsc {

// Measures the TSC rate against PIT channel 2, or takes it from CPUID when
// the PIT does not answer (or answers nonsense). Returns false, and the
// clock stays uncalibrated, when neither works.
bool calibrate();
// "PIT" or "CPUID": where the rate came from.
const char* calibration_source();

// TSC ticks per millisecond, once calibrated.
Optional<u64> ticks_per_ms();

// TSC value read by boot/entry.asm at the kernel's first instructions.
u64 boot_timestamp();

// Milliseconds since boot_timestamp(), or nullopt before calibration.
Optional<u64> ms_since_boot();

// Busy-waits at least `microseconds` (needs calibration).
void delay_us(u64 microseconds);

} // namespace herald::tsc
