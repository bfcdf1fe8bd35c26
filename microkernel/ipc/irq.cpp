#include "irq.hpp"

#include "../arch/x86_64/idt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../arch/x86_64/ioapic.hpp"
#include "../arch/x86_64/vectors.hpp"
#include "../object/notification.hpp"
#include "../smp/processor.hpp"
#include "../sync/spinlock.hpp"

namespace herald {

namespace {

constexpr u8 kIsaIrqs = 16;
static_assert(x86::kVectorFirstIrq + kMaxIrqLines <= x86::kVectorLapicError, "IRQ vectors overlap the kernel's");

struct Binding {
    Notification* notification; // holds a reference
    u64 bits;
    void (*handler)();
    const void* driver_owner; // a driver's binding: masked at each interrupt
    u32 gsi;
};

// Bindings change at bootstrap and when drivers bind and unbind (any CPU);
// interrupts read them on the boot CPU.
SpinLock g_lock;
Binding g_bindings[kMaxIrqLines] GUARDED_BY(g_lock);
u64 g_driver_line_interrupts; // atomic

bool is_bound(const Binding& binding) { return binding.notification || binding.handler; }

void deliver(x86::InterruptFrame& frame)
{
    u64 line = frame.vector - x86::kVectorFirstIrq;
    if (line >= kMaxIrqLines)
        return;
    void (*handler)() = nullptr;
    {
        SpinLockGuard guard(g_lock);
        Binding& binding = g_bindings[line];
        if (binding.driver_owner) {
            x86::ioapic::set_line_masked(static_cast<u32>(line), true); // until the driver acknowledges
            __atomic_add_fetch(&g_driver_line_interrupts, 1, __ATOMIC_RELAXED);
        }
        if (binding.notification)
            binding.notification->signal(binding.bits);
        handler = binding.handler;
    }
    if (handler)
        handler(); // a kernel handler is bound for good: no lock needed
}

// The line's GSI is nobody's yet (two ISA IRQs may share one through an
// override).
bool gsi_free(u32 gsi) REQUIRES(g_lock)
{
    for (const Binding& binding : g_bindings) {
        if (is_bound(binding) && binding.gsi == gsi)
            return false;
    }
    return true;
}

ErrorOr<void> bind(u32 line, Notification* notification, u64 bits, void (*handler)(), const void* owner)
{
    if (line >= irq_line_count())
        return Error::NotGranted;
    auto gsi = x86::ioapic::gsi_of_line(line);
    if (!gsi)
        return Error::NotGranted;
    u8 vector = static_cast<u8>(x86::kVectorFirstIrq + line);
    x86::set_interrupt_handler(vector, deliver);
    SpinLockGuard guard(g_lock);
    if (is_bound(g_bindings[line]) || !gsi_free(*gsi))
        return Error::Busy;
    g_bindings[line] = Binding { notification, bits, handler, owner, *gsi };
    if (!x86::ioapic::route_line(line, vector, processor(0).apic_id, false)) {
        g_bindings[line] = Binding {};
        return Error::NotGranted;
    }
    return {};
}

} // namespace

u32 irq_line_count()
{
    usize inputs = x86::ioapic::input_count();
    return static_cast<u32>(inputs < kMaxIrqLines ? inputs : kMaxIrqLines);
}

bool bind_isa_irq(u8 irq, Notification& notification, u64 bits)
{
    if (irq >= kIsaIrqs)
        return false;
    Ref<Notification> kept(notification);
    if (bind(irq, kept.ptr(), bits, nullptr, nullptr).is_error())
        return false; // `kept` goes
    (void)kept.leak(); // the binding holds it, for as long as the kernel runs
    return true;
}

bool rebind_isa_irq(u8 irq, Notification& notification)
{
    if (irq >= kIsaIrqs)
        return false;
    Ref<Notification> kept(notification);
    Ref<Notification> previous;
    {
        SpinLockGuard guard(g_lock);
        Binding& binding = g_bindings[irq];
        if (!binding.notification || binding.driver_owner)
            return false; // only a bootstrap binding (the console's) moves; `kept` goes
        previous = Ref<Notification>::adopt(*binding.notification);
        binding.notification = kept.leak();
    }
    // An interrupt signals under g_lock (deliver()): none reaches the old
    // notification any more, so the binding's reference goes, after the
    // lock (it may be the last).
    return true;
}

bool bind_isa_irq_to_kernel(u8 irq, void (*handler)())
{
    if (irq >= kIsaIrqs || !handler)
        return false;
    return !bind(irq, nullptr, 0, handler, nullptr).is_error();
}

ErrorOr<void> bind_line_for_driver(u32 line, Ref<Notification> notification, u64 bits, const void* owner)
{
    HERALD_TRY(bind(line, notification.ptr(), bits, nullptr, owner));
    (void)notification.leak(); // the binding holds it until unbind_line
    return {};
}

ErrorOr<void> acknowledge_line(u32 line, const void* owner)
{
    if (line >= kMaxIrqLines)
        return Error::BadArgument;
    SpinLockGuard guard(g_lock);
    if (!owner || g_bindings[line].driver_owner != owner)
        return Error::BadArgument;
    x86::ioapic::set_line_masked(line, false);
    return {};
}

void unbind_line(u32 line, const void* owner)
{
    if (line >= kMaxIrqLines)
        return;
    Ref<Notification> notification;
    {
        SpinLockGuard guard(g_lock);
        Binding& binding = g_bindings[line];
        if (!owner || binding.driver_owner != owner)
            return;
        x86::ioapic::set_line_masked(line, true);
        notification = Ref<Notification>::adopt(*binding.notification);
        binding = Binding {};
    }
    // Dropped here, not under the lock: it may be the last reference.
}

u64 driver_line_interrupts_received() { return __atomic_load_n(&g_driver_line_interrupts, __ATOMIC_RELAXED); }

namespace {

static_assert(x86::kVectorFirstMsi >= x86::kVectorFirstIrq + kMaxIrqLines, "the MSI pool overlaps the lines' vectors");
static_assert(x86::kVectorFirstMsi + kMsiVectors <= x86::kVectorLapicError, "the MSI pool overlaps the kernel's vectors");

struct MsiSlot {
    const void* owner; // null: free
    Notification* notification; // holds a reference; null: not bound (messages dropped)
    u64 bits;
    bool armed;   // the next message signals
    bool pending; // a message came while disarmed: the acknowledge signals it
};

SpinLock g_msi_lock;
MsiSlot g_msi[kMsiVectors] GUARDED_BY(g_msi_lock);
u64 g_msi_received; // atomic

MsiSlot* msi_slot(u8 vector, const void* owner) REQUIRES(g_msi_lock)
{
    u32 index = static_cast<u32>(vector) - x86::kVectorFirstMsi;
    if (vector < x86::kVectorFirstMsi || index >= kMsiVectors || !owner || g_msi[index].owner != owner)
        return nullptr;
    return &g_msi[index];
}

void deliver_msi(x86::InterruptFrame& frame)
{
    __atomic_add_fetch(&g_msi_received, 1, __ATOMIC_RELAXED);
    u64 index = frame.vector - x86::kVectorFirstMsi;
    if (index >= kMsiVectors)
        return;
    SpinLockGuard guard(g_msi_lock);
    MsiSlot& slot = g_msi[index];
    if (!slot.notification)
        return; // free, or not bound yet: masked
    if (!slot.armed) {
        slot.pending = true;
        return;
    }
    slot.armed = false; // until the driver acknowledges
    slot.notification->signal(slot.bits);
}

} // namespace

ErrorOr<u8> allocate_msi_vector(const void* owner, x86::msi::Message& message)
{
    if (!owner)
        return Error::BadArgument;
    SpinLockGuard guard(g_msi_lock);
    for (u32 index = 0; index < kMsiVectors; ++index) {
        if (g_msi[index].owner)
            continue;
        u8 vector = static_cast<u8>(x86::kVectorFirstMsi + index);
        if (!x86::msi::encode(processor(0).apic_id, vector, message))
            return Error::NotGranted;
        x86::set_interrupt_handler(vector, deliver_msi);
        g_msi[index] = MsiSlot { owner, nullptr, 0, false, false };
        return vector;
    }
    return Error::OutOfMemory;
}

ErrorOr<void> bind_msi_vector(u8 vector, Ref<Notification> notification, u64 bits, const void* owner)
{
    SpinLockGuard guard(g_msi_lock);
    MsiSlot* slot = msi_slot(vector, owner);
    if (!slot)
        return Error::BadArgument;
    if (slot->notification)
        return Error::Busy;
    slot->notification = notification.leak(); // the binding holds it until free_msi_vector
    slot->bits = bits;
    slot->armed = true;
    slot->pending = false;
    return {};
}

ErrorOr<void> acknowledge_msi_vector(u8 vector, const void* owner)
{
    SpinLockGuard guard(g_msi_lock);
    MsiSlot* slot = msi_slot(vector, owner);
    if (!slot || !slot->notification)
        return Error::BadArgument;
    if (slot->pending) {
        slot->pending = false; // stays disarmed: this one is the next notification
        slot->notification->signal(slot->bits);
    } else {
        slot->armed = true;
    }
    return {};
}

void free_msi_vector(u8 vector, const void* owner)
{
    Ref<Notification> notification;
    {
        SpinLockGuard guard(g_msi_lock);
        MsiSlot* slot = msi_slot(vector, owner);
        if (!slot)
            return;
        if (slot->notification)
            notification = Ref<Notification>::adopt(*slot->notification);
        *slot = MsiSlot {};
    }
    // Dropped here, not under the lock: it may be the last reference.
}

u32 msi_vectors_in_use()
{
    SpinLockGuard guard(g_msi_lock);
    u32 count = 0;
    for (const MsiSlot& slot : g_msi)
        count += slot.owner != nullptr;
    return count;
}

u64 msi_messages_received() { return __atomic_load_n(&g_msi_received, __ATOMIC_RELAXED); }

} // namespace herald
