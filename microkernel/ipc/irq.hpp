// Device interrupts delivered to ring 3: the kernel routes an ISA IRQ to a
// vector of its own and turns each interrupt into bits on a notification,
// which the device's server waits on (the console server: COM1's IRQ 4).
// The line is edge-triggered, so nothing has to be masked while the server
// works: it drains the device, and new data raises a new edge.
#pragma once

#include "../lib/types.hpp"

namespace herald {

class Notification;

// Routes ISA `irq` to the boot CPU; each interrupt signals `bits` on
// `notification` (which the binding keeps alive). False if no I/O APIC
// serves the IRQ or it is bound already.
bool bind_isa_irq(u8 irq, Notification& notification, u64 bits);

} // namespace herald
