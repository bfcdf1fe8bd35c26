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
