#include "endpoint.hpp"
#include "retire.hpp"

#include "../abi/ipc.hpp"
#include "../abi/syscalls.hpp"
#include "../ipc/message.hpp"
#include "../mm/kernel_pool.hpp"

namespace herald {

namespace {

KernelPool<Endpoint> g_endpoints;

} // namespace

usize endpoints_in_use() { return g_endpoints.in_use(); }

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
    // An interrupt may signal the notification at any time, so the endpoint
    // it reaches must not go while it may: each holds the other, until
    // release_binding() (or for as long as the kernel runs).
    notification.bound_to = Ref<Endpoint>(*this).leak();
    bound = Ref<Notification>(notification).leak();
}

void Endpoint::release_binding()
{
    Notification* released;
    {
        SpinLockGuard guard(lock); // a receive reads `bound` under it
        released = bound;
        bound = nullptr;
    }
    // After the lock: it may be the last reference (its destroy() then
    // drops its own to us, Notification::destroy).
    if (released)
        Ref<Notification>::adopt(*released).clear();
}

void Endpoint::destroy()
{
    {
        SpinLockGuard guard(lock);
        fail_all(senders, Error::PeerGone);
        fail_all(receivers, Error::PeerGone);
    }
    if (bound) {
        bound->unbind();
        Ref<Notification>::adopt(*bound).clear(); // the binding's reference
    }
    retire(*this); // a kill may still be looking at our queues (retire.hpp)
}

void Endpoint::free_retired_storage()
{
    this->~Endpoint();
    g_endpoints.free_storage(this);
}

} // namespace herald
