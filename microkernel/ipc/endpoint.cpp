#include "endpoint.hpp"

#include "../abi/ipc.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../mm/kernel_pool.hpp"
#include "../sched/scheduler.hpp"

namespace herald {

namespace {

KernelPool<Endpoint> g_endpoints;
KernelPool<Notification> g_notifications;

void fail_all(RunQueue<Thread>& queue, abi::SyscallError error)
{
    while (Thread* thread = queue.pop_front()) {
        thread->ipc.blocked_on = nullptr;
        ipc_wake_with_status(*thread, static_cast<i64>(error));
    }
}

} // namespace

void ipc_wake_with_status(Thread& thread, i64 status)
{
    thread.ipc.frame->rax = static_cast<u64>(status);
    thread.ipc.awaiting_reply = false;
    thread.ipc.replier = nullptr;
    scheduler_wake(thread);
}

Endpoint* Endpoint::create()
{
    void* storage = g_endpoints.allocate_storage();
    return storage ? new (storage) Endpoint() : nullptr;
}

void Endpoint::handle_opened(u32 rights)
{
    if (rights & abi::RightReceive) {
        SpinLockGuard guard(lock);
        ++receive_rights;
    }
}

void Endpoint::handle_closed(u32 rights)
{
    if (!(rights & abi::RightReceive))
        return;
    SpinLockGuard guard(lock);
    if (--receive_rights == 0)
        fail_all(senders, abi::SyscallError::PeerGone);
}

void bind_notification(Endpoint& endpoint, Notification& notification)
{
    // The binding lives as long as the kernel: an interrupt may signal the
    // notification at any time, so the endpoint it reaches must never go.
    endpoint.retain();
    notification.retain();
    endpoint.bound = &notification;
    notification.bound_to = &endpoint;
}

void Endpoint::destroy()
{
    {
        SpinLockGuard guard(lock);
        fail_all(senders, abi::SyscallError::PeerGone);
        fail_all(receivers, abi::SyscallError::PeerGone);
    }
    if (bound) {
        {
            SpinLockGuard guard(bound->lock);
            bound->bound_to = nullptr;
        }
        bound->release();
    }
    this->~Endpoint();
    g_endpoints.free_storage(this);
}

Notification* Notification::create()
{
    void* storage = g_notifications.allocate_storage();
    return storage ? new (storage) Notification() : nullptr;
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

void Notification::destroy()
{
    {
        SpinLockGuard guard(lock);
        fail_all(waiters, abi::SyscallError::PeerGone);
    }
    this->~Notification();
    g_notifications.free_storage(this);
}

} // namespace herald
