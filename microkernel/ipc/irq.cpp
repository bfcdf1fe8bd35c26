#include "irq.hpp"

#include "../arch/x86_64/idt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../arch/x86_64/ioapic.hpp"
#include "../arch/x86_64/vectors.hpp"
#include "../smp/processor.hpp"
#include "endpoint.hpp"
#include "ipc.hpp"

namespace herald {

namespace {

constexpr u8 kIsaIrqs = 16;

struct Binding {
    Notification* notification;
    u64 bits;
};

Binding g_bindings[kIsaIrqs];

void deliver(x86::InterruptFrame& frame)
{
    u64 irq = frame.vector - x86::kVectorFirstIrq;
    if (irq < kIsaIrqs && g_bindings[irq].notification)
        notification_signal(*g_bindings[irq].notification, g_bindings[irq].bits);
}

} // namespace

bool bind_isa_irq(u8 irq, Notification& notification, u64 bits)
{
    if (irq >= kIsaIrqs || g_bindings[irq].notification)
        return false;
    notification.retain();
    g_bindings[irq] = Binding { &notification, bits };
    u8 vector = static_cast<u8>(x86::kVectorFirstIrq + irq);
    x86::set_interrupt_handler(vector, deliver);
    if (!x86::ioapic::route_isa_irq(irq, vector, processor(0).apic_id)) {
        g_bindings[irq] = Binding {};
        notification.release();
        return false;
    }
    return true;
}

} // namespace herald
