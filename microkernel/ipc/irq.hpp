// Device interrupts delivered to a driver: the kernel routes an interrupt
// line to a vector of its own and turns each interrupt into bits on a
// notification, which the device's ring-3 server waits on, or, for a server
// built into the kernel, calls its handler right there (the ring-0 console:
// services/console_in_kernel.cpp).
//
// Two kinds of binding:
//   - the bootstrap's (the console server: COM1's IRQ 4): edge-triggered,
//     never masked; the driver drains the device and new data raises a new
//     edge;
//   - a driver's, through an Interrupt handle (object/interrupt.hpp,
//     docs/drivers.md): the line is masked until bound, masked again by the
//     kernel at each interrupt before the notification is signalled, and
//     unmasked only by the driver's acknowledge (InterruptAck), once it has
//     made the device stop asking. That is what a level-triggered line
//     (PCI INTx) needs, and it bounds the interrupts a driver can be sent
//     to one per acknowledge.
// Lines are numbered as ioapic::route_line numbers them: ISA IRQs below 16,
// global system interrupts from 16 on.
//
// MSI vectors (a driver's, through an Interrupt handle from
// InterruptAllocateMsi): a vector of the kernel's MSI pool, which the
// holder writes into its device's MSI-X table with the message below. No
// line to mask: the kernel masks in software. Until bound, a message is
// dropped; once bound, the first message signals the bits and disarms the
// vector; a message while disarmed is remembered (not lost, unlike a
// masked I/O APIC edge), and the acknowledge signals it at once, or re-arms
// the vector if none came. So a driver hears one notification per
// acknowledge, as for a line, and the local APIC's EOI (sent by the kernel
// after every interrupt) is all an edge message needs.
#pragma once

#include "../arch/x86_64/msi.hpp"
#include "../lib/error.hpp"
#include "../lib/types.hpp"
#include "../object/ref.hpp"

namespace herald {

class Notification;

// Lines Herald can route: kVectorFirstIrq + line stays below the vectors the
// kernel keeps for itself (arch/x86_64/vectors.hpp).
inline constexpr u32 kMaxIrqLines = 48;
// Lines the machine's I/O APICs serve, at most kMaxIrqLines.
u32 irq_line_count();

// Routes ISA `irq` to the boot CPU; each interrupt signals `bits` on
// `notification` (which the binding keeps alive). False if no I/O APIC
// serves the IRQ or it is bound already.
bool bind_isa_irq(u8 irq, Notification& notification, u64 bits);

// A restarted server (the console, services/boot_servers.cpp) takes over an
// interrupt bound to its predecessor's notification: from now on `irq`
// signals `notification` (the same bits). The binding drops its reference
// to the old notification (interrupts signal under the binding table's
// lock, so none is signalling it once this returns). False if `irq` is not
// bound to a notification.
bool rebind_isa_irq(u8 irq, Notification& notification);

// Routes ISA `irq` to the boot CPU; each interrupt calls `handler` in the
// interrupt's context (interrupts off; it may take spin locks). False as
// above.
bool bind_isa_irq_to_kernel(u8 irq, void (*handler)());

// A driver's binding of `line` (see above), made by `owner` (the Interrupt
// object, which unbinds in its destroy()). Busy: the line, or another line
// on the same I/O APIC input, is bound already; NotGranted: no I/O APIC
// serves it.
ErrorOr<void> bind_line_for_driver(u32 line, Ref<Notification> notification, u64 bits, const void* owner);
// Unmasks `line` again. BadArgument: `owner` did not bind it.
ErrorOr<void> acknowledge_line(u32 line, const void* owner);
// Masks `line` and lets its notification go, if `owner` bound it.
void unbind_line(u32 line, const void* owner);
// Interrupts delivered on lines drivers bound, since boot: what the
// self-tests look at (an INTx that arrives, tests/insystem/virtio_blk_tests.cpp).
u64 driver_line_interrupts_received();

// The MSI pool: vectors kVectorFirstMsi.. (arch/x86_64/vectors.hpp), sent
// to the boot CPU.
inline constexpr u32 kMsiVectors = 64;
// Takes a free vector for `owner` (the Interrupt object) and writes the
// message that raises it. OutOfMemory: every vector is taken; NotGranted:
// the boot CPU's APIC id does not fit an MSI address (above 255).
ErrorOr<u8> allocate_msi_vector(const void* owner, x86::msi::Message& message);
// Delivers `vector` as `bits` on `notification` (armed). BadArgument: not
// `owner`'s vector; Busy: bound already.
ErrorOr<void> bind_msi_vector(u8 vector, Ref<Notification> notification, u64 bits, const void* owner);
// Signals a message that came while disarmed, or re-arms. BadArgument: not
// bound by `owner`.
ErrorOr<void> acknowledge_msi_vector(u8 vector, const void* owner);
// Frees `owner`'s vector and lets its notification go; messages to it are
// dropped from now on.
void free_msi_vector(u8 vector, const void* owner);
// Vectors taken now, and messages the pool received since boot (bound or
// not): what the self-tests look at.
u32 msi_vectors_in_use();
u64 msi_messages_received();

} // namespace herald
