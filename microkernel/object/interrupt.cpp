#include "interrupt.hpp"

#include "../ipc/irq.hpp"
#include "../mm/kernel_pool.hpp"
#include "notification.hpp"

namespace herald {

namespace {

KernelPool<Interrupt> g_interrupts;

constexpr u64 kBit63 = 1ull << 63;

} // namespace

Interrupt Interrupt::s_root { 0, 0 };

Interrupt& Interrupt::root() { return s_root; }

u32 Interrupt::first() const { return m_first; }

u32 Interrupt::last() const
{
    // The I/O APICs are found at boot, after static objects are made.
    if (this == &s_root)
        return irq_line_count() == 0 ? 0 : irq_line_count() - 1;
    return m_last;
}

ErrorOr<Ref<Interrupt>> Interrupt::restrict(u64 first, u64 last) const
{
    if (first > last)
        return Error::BadArgument;
    if (m_msi)
        return Error::NotGranted;
    if (first < m_first || last > this->last() || irq_line_count() == 0)
        return Error::NotGranted;
    void* storage = g_interrupts.allocate_storage();
    if (!storage)
        return Error::OutOfMemory;
    return Ref<Interrupt>::adopt(*new (storage) Interrupt(static_cast<u32>(first), static_cast<u32>(last)));
}

ErrorOr<Ref<Interrupt>> Interrupt::allocate_msi(x86::msi::Message& message) const
{
    if (this != &s_root)
        return Error::NotGranted;
    void* storage = g_interrupts.allocate_storage();
    if (!storage)
        return Error::OutOfMemory;
    auto object = Ref<Interrupt>::adopt(*new (storage) Interrupt(0, 0, true));
    // Until it has its vector, destroy() frees none (it owns none).
    u8 vector = HERALD_TRY(allocate_msi_vector(object.ptr(), message));
    object->m_first = object->m_last = vector;
    return object;
}

ErrorOr<void> Interrupt::bind(Ref<Notification> notification, u64 bits)
{
    if (this == &s_root || m_first != m_last || bits == 0 || (bits & kBit63))
        return Error::BadArgument;
    if (m_msi)
        return bind_msi_vector(static_cast<u8>(m_first), move(notification), bits, this);
    // Two binds through handles to this one object race for the line;
    // bind_line_for_driver decides under its lock (the loser gets Busy).
    HERALD_TRY(bind_line_for_driver(m_first, move(notification), bits, this));
    __atomic_store_n(&m_bound, true, __ATOMIC_RELEASE);
    return {};
}

ErrorOr<void> Interrupt::acknowledge()
{
    if (this == &s_root || m_first != m_last)
        return Error::BadArgument;
    if (m_msi)
        return acknowledge_msi_vector(static_cast<u8>(m_first), this);
    return acknowledge_line(m_first, this);
}

void Interrupt::destroy()
{
    if (this == &s_root)
        return; // lives as long as the kernel
    if (m_msi)
        free_msi_vector(static_cast<u8>(m_first), this); // nothing if it never got one (m_first 0)
    else if (__atomic_load_n(&m_bound, __ATOMIC_ACQUIRE))
        unbind_line(m_first, this);
    this->~Interrupt();
    g_interrupts.free_storage(this);
}

} // namespace herald
