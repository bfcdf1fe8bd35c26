#include "endpoint.hpp"

#include "../abi/ipc.hpp"
#include "../abi/syscalls.hpp"
#include "../ipc/message.hpp"
#include "../mm/kernel_pool.hpp"
#include "../task/task.hpp"

namespace herald {

namespace {

KernelPool<Endpoint> g_endpoints;

} // namespace

Ref<Endpoint> Endpoint::create()
{
    void* storage = g_endpoints.allocate_storage();
    return storage ? Ref<Endpoint>::adopt(*new (storage) Endpoint()) : Ref<Endpoint>();
}

void Endpoint::fail_all(RunQueue<Thread>& queue, Error error)
{
    while (Thread* thread = queue.pop_front()) {
        thread->ipc.blocked_on = nullptr;
        ipc_wake_with_status(*thread, error);
    }
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
        fail_all(senders, Error::PeerGone);
}

void Endpoint::bind(Notification& notification)
{
    // The binding lives as long as the kernel: an interrupt may signal the
    // notification at any time, so the endpoint it reaches must never go.
    // Both references are leaked on purpose: held by the binding, forever.
    notification.bound_to = Ref<Endpoint>(*this).leak();
    bound = Ref<Notification>(notification).leak();
}

void Endpoint::destroy()
{
    {
        SpinLockGuard guard(lock);
        fail_all(senders, Error::PeerGone);
        fail_all(receivers, Error::PeerGone);
    }
    // A waiter holds no reference (kernel_object.hpp); a kill may have read
    // its blocked_on just before fail_all cleared it, and be about to take
    // our lock: it finishes first.
    task_table_barrier();
    if (bound) {
        bound->unbind();
        Ref<Notification>::adopt(*bound).clear(); // the binding's reference
    }
    this->~Endpoint();
    g_endpoints.free_storage(this);
}

} // namespace herald
