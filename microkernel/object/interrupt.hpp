// Interrupt: the right to interrupt lines first..last (docs/drivers.md):
// ISA IRQs below 16, I/O APIC inputs (global system interrupts) from 16 on,
// as ipc/irq.hpp numbers them. The root covers every line the I/O APICs
// serve; only bootstrap holds it. A holder restricts a handle to fewer lines
// (a new object) and passes it on like any handle. A handle to exactly one
// line can be bound to a notification (InterruptBind): the line, masked
// until then, is unmasked; each interrupt masks it again and signals the
// bits; the driver handles the device and acknowledges (InterruptAck),
// which unmasks it. The binding ends when the object does (its last handle
// closed, e.g. its task ended): the line is masked and free to bind again.
//
// The root also hands out MSI vectors (allocate_msi): an object for one
// vector of the kernel's MSI pool, which the holder writes into its
// device's MSI-X table; bound and acknowledged as a line is (ipc/irq.hpp
// says how the kernel masks it). Only the root allocates: the PCI server,
// which decides which device gets which interrupt. The vector is free again
// when the object ends.
#pragma once

#include "../arch/x86_64/msi.hpp"
#include "../lib/error.hpp"
#include "kernel_object.hpp"

namespace herald {

class Notification;

class Interrupt final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Interrupt;

    // Every line the I/O APICs serve (ipc/irq.hpp: irq_line_count()).
    static Interrupt& root();

    u32 first() const;
    u32 last() const;
    // An MSI vector's object: first() and last() are its vector.
    bool is_msi() const { return m_msi; }

    // A new object for lines [first, last]: BadArgument if first > last,
    // NotGranted if they are not inside this one (an MSI vector's object
    // restricts to nothing: pass the handle on, or mint it), OutOfMemory.
    ErrorOr<Ref<Interrupt>> restrict(u64 first, u64 last) const;
    // A new object for a free MSI vector, and the message that raises it.
    // NotGranted: this is not the root (or the boot CPU's APIC id does not
    // fit a message); OutOfMemory: no object, or every vector is taken.
    ErrorOr<Ref<Interrupt>> allocate_msi(x86::msi::Message& message) const;

    // Delivers this one line as `bits` on `notification` from now on.
    // BadArgument: the object covers more than one line, or `bits` is 0 or
    // has bit 63 (results in RAX would read as an error); Busy: the line is
    // bound already (the console's COM1, or another handle's binding).
    ErrorOr<void> bind(Ref<Notification> notification, u64 bits);
    // Unmasks the line after an interrupt. BadArgument: not bound here.
    ErrorOr<void> acknowledge();

private:
    Interrupt(u32 first, u32 last, bool msi = false) : KernelObject(kType), m_first(first), m_last(last), m_msi(msi) { }
    void destroy() override;

    u32 m_first;
    u32 m_last; // the root's is read from the I/O APICs at first use
    bool m_msi;
    bool m_bound { false };
    static Interrupt s_root;
};

} // namespace herald
