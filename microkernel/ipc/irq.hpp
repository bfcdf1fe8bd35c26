// Device interrupts delivered to a driver: the kernel routes an ISA IRQ to a
// vector of its own and turns each interrupt into bits on a notification,
// which the device's ring-3 server waits on (the console server: COM1's IRQ
// 4), or, for a server built into the kernel, calls its handler right there
// (the ring-0 console: services/console_in_kernel.cpp). The line is
// edge-triggered, so nothing has to be masked while the driver works: it
// drains the device, and new data raises a new edge.
#pragma once

#include "../lib/types.hpp"

namespace herald {

class Notification;

// Routes ISA `irq` to the boot CPU; each interrupt signals `bits` on
// `notification` (which the binding keeps alive). False if no I/O APIC
// serves the IRQ or it is bound already.
bool bind_isa_irq(u8 irq, Notification& notification, u64 bits);

// A restarted server (the console, services/boot_servers.cpp) takes over an
// interrupt bound to its predecessor's notification: from now on `irq`
// signals `notification` (the same bits). The old notification is kept, as
// every binding is, for as long as the kernel runs (an interrupt on the
// boot CPU may be signalling it right now). False if `irq` is not bound to
// a notification.
bool rebind_isa_irq(u8 irq, Notification& notification);

// Routes ISA `irq` to the boot CPU; each interrupt calls `handler` in the
// interrupt's context (interrupts off; it may take spin locks). False as
// above.
bool bind_isa_irq_to_kernel(u8 irq, void (*handler)());

} // namespace herald
