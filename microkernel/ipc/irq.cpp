#include "irq.hpp"

#include "../arch/x86_64/idt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../arch/x86_64/ioapic.hpp"
#include "../arch/x86_64/vectors.hpp"
#include "../smp/processor.hpp"
#include "../object/notification.hpp"

namespace herald {

namespace {

constexpr u8 kIsaIrqs = 16;

struct Binding {
    Notification* notification;
    u64 bits;
    void (*handler)();
};

Binding g_bindings[kIsaIrqs];

void deliver(x86::InterruptFrame& frame)
{
    u64 irq = frame.vector - x86::kVectorFirstIrq;
    if (irq >= kIsaIrqs)
        return;
    if (Notification* notification = __atomic_load_n(&g_bindings[irq].notification, __ATOMIC_ACQUIRE))
        notification->signal(g_bindings[irq].bits);
    else if (g_bindings[irq].handler)
        g_bindings[irq].handler();
}

bool route(u8 irq)
{
    u8 vector = static_cast<u8>(x86::kVectorFirstIrq + irq);
    x86::set_interrupt_handler(vector, deliver);
    return x86::ioapic::route_isa_irq(irq, vector, processor(0).apic_id);
}

} // namespace

bool bind_isa_irq(u8 irq, Notification& notification, u64 bits)
{
    if (irq >= kIsaIrqs || g_bindings[irq].notification || g_bindings[irq].handler)
        return false;
    Ref<Notification> kept(notification);
    g_bindings[irq] = Binding { kept.ptr(), bits, nullptr };
    if (!route(irq)) {
        g_bindings[irq] = Binding {};
        return false; // `kept` goes
    }
    (void)kept.leak(); // the binding holds it, for as long as the kernel runs
    return true;
}

bool rebind_isa_irq(u8 irq, Notification& notification)
{
    if (irq >= kIsaIrqs || !g_bindings[irq].notification)
        return false;
    Ref<Notification> kept(notification);
    (void)__atomic_exchange_n(&g_bindings[irq].notification, kept.leak(), __ATOMIC_ACQ_REL); // the old one stays
    return true;
}

bool bind_isa_irq_to_kernel(u8 irq, void (*handler)())
{
    if (irq >= kIsaIrqs || !handler || g_bindings[irq].notification || g_bindings[irq].handler)
        return false;
    g_bindings[irq] = Binding { nullptr, 0, handler };
    if (!route(irq)) {
        g_bindings[irq] = Binding {};
        return false;
    }
    return true;
}

} // namespace herald
