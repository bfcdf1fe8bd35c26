#include "notification.hpp"

#include "../abi/ipc.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/tsc.hpp"
#include "../ipc/message.hpp"
#include "../lib/syscall_error.hpp"
#include "../mm/kernel_pool.hpp"
#include "../sched/scheduler.hpp"
#include "../task/task.hpp"
#include "endpoint.hpp"
#include "retire.hpp"

namespace herald {

namespace {

KernelPool<Notification> g_notifications;

} // namespace

usize notifications_in_use() { return g_notifications.in_use(); }

Ref<Notification> Notification::create()
{
    void* storage = g_notifications.allocate_storage();
    return storage ? Ref<Notification>::adopt(*new (storage) Notification()) : Ref<Notification>();
}

void Notification::handle_opened(u32 rights)
{
    if (rights & abi::RightReceive)
        __atomic_add_fetch(&receive_rights, 1, __ATOMIC_RELAXED);
}

void Notification::handle_closed(u32 rights)
{
    if (rights & abi::RightReceive)
        __atomic_sub_fetch(&receive_rights, 1, __ATOMIC_RELAXED);
}

bool Notification::can_be_waited_on() const
{
    return __atomic_load_n(&receive_rights, __ATOMIC_RELAXED) != 0
        || __atomic_load_n(&bound_to, __ATOMIC_ACQUIRE) != nullptr;
}

void Notification::unbind()
{
    SpinLockGuard guard(lock);
    bound_to = nullptr;
}

u64 Notification::take_bits()
{
    SpinLockGuard guard(lock);
    u64 taken = bits;
    bits = 0;
    return taken;
}

// A signal on a bound notification: straight to a thread receiving on the
// endpoint, or kept in the bits until one comes. Lock order: endpoint, then
// notification, as in a receive.
bool Notification::signal_bound(u64 new_bits)
{
    Endpoint* endpoint = __atomic_load_n(&bound_to, __ATOMIC_ACQUIRE);
    if (!endpoint)
        return false;
    SpinLockGuard endpoint_guard(endpoint->lock);
    Thread* receiver = endpoint->receivers.pop_front();
    u64 taken;
    {
        SpinLockGuard guard(lock);
        bits |= new_bits;
        if (!receiver)
            return true;
        taken = bits;
        bits = 0;
    }
    receiver->ipc.blocked_on = nullptr;
    write_message(*receiver->ipc.frame, notification_message(taken));
    scheduler_wake(*receiver);
    return true;
}

void Notification::signal(u64 new_bits)
{
    if (signal_bound(new_bits))
        return;
    SpinLockGuard guard(lock);
    bits |= new_bits;
    Thread* waiter = bits ? waiters.pop_front() : nullptr; // no bits: nothing to wake for
    if (waiter) {
        waiter->ipc.waiting_on = nullptr;
        u64 taken = bits;
        bits = 0;
        set_syscall_result(*waiter->ipc.frame, taken); // bit 63 is never set (NotifySignal refuses it)
        scheduler_wake(*waiter);
    }
}

ErrorOr<u64> Notification::wait(Thread& self, Ref<Notification> notification_ref)
{
    Notification& notification = *notification_ref;
    SpinLockGuard guard(notification.lock);
    if (notification.bits) {
        u64 taken = notification.bits;
        notification.bits = 0;
        return taken;
    }
    notification.waiters.push_back(self);
    __atomic_store_n(&self.ipc.waiting_on, &notification, __ATOMIC_RELEASE);
    if (ipc_kill_came_first(self)) {
        notification.waiters.remove(self);
        self.ipc.waiting_on = nullptr;
        return Error::PeerGone; // it ends on the way out
    }
    self.state = ThreadState::Blocked;
    guard.unlock();
    notification_ref.clear(); // a queued waiter holds no reference
    scheduler_block_current();
    return decode_result(syscall_result(*self.ipc.frame)); // what the signal wrote
}

// Simple and race-free (the thread never sits in the waiters queue and a
// sleep list at once), at the price of up to one tick of extra latency.
ErrorOr<u64> Notification::wait_with_timeout(Thread& self, u64 timeout_ms)
{
    u64 ticks_per_ms = tsc::ticks_per_ms().value();
    u64 deadline = x86::rdtsc() + timeout_ms * ticks_per_ms;
    for (;;) {
        if (u64 taken = take_bits())
            return taken;
        u64 now = x86::rdtsc();
        if (now >= deadline)
            return Error::TimedOut;
        if (__atomic_load_n(&self.task->kill_requested, __ATOMIC_ACQUIRE))
            return Error::PeerGone; // it ends on the way out
        scheduler_sleep_ms(min(kTickMs, (deadline - now) / ticks_per_ms + 1));
    }
}

void Notification::destroy()
{
    Endpoint* endpoint;
    {
        SpinLockGuard guard(lock);
        while (Thread* thread = waiters.pop_front()) {
            thread->ipc.waiting_on = nullptr; // (it cleared blocked_on, the endpoint's pointer, before)
            ipc_wake_with_status(*thread, Error::PeerGone);
        }
        endpoint = bound_to; // set only when the endpoint released the binding (Endpoint::release_binding)
        bound_to = nullptr;
    }
    if (endpoint)
        Ref<Endpoint>::adopt(*endpoint).clear(); // the binding's reference, after our lock
    retire(*this); // a kill may still be looking at our queue (retire.hpp)
}

void Notification::free_retired_storage()
{
    this->~Notification();
    g_notifications.free_storage(this);
}

} // namespace herald
