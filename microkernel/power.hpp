// Turning the machine off (SystemShutdown).
#pragma once

namespace herald {

// ACPI S5 through the FADT's PM1 control ports (acpi/sleep_state.hpp); if
// that does nothing, QEMU's isa-debug-exit device; if that is absent too,
// every CPU that runs this stops with a message.
[[noreturn]] void power_off();

} // namespace herald
