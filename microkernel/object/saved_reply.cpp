#include "saved_reply.hpp"

#include "../abi/syscalls.hpp"
#include "../mm/kernel_pool.hpp"
#include "../sync/spinlock.hpp"
#include "../task/task.hpp"
#include "../ipc/message.hpp"

namespace herald {

namespace {

KernelPool<SavedReply> g_saved_replies;

} // namespace

Ref<SavedReply> SavedReply::create()
{
    void* storage = g_saved_replies.allocate_storage();
    return storage ? Ref<SavedReply>::adopt(*new (storage) SavedReply()) : Ref<SavedReply>();
}

bool SavedReply::link(Thread& caller)
{
    SpinLockGuard guard(s_lock);
    // kill_task sets the flag before it looks for the caller's wait
    // (ipc_cancel_wait, which takes this lock): either that look finds the
    // link made here, or this sees the flag. A kill is never lost.
    if (__atomic_load_n(&caller.task->kill_requested, __ATOMIC_ACQUIRE))
        return false;
    m_caller = &caller;
    __atomic_store_n(&caller.ipc.saved_reply, this, __ATOMIC_RELEASE);
    // Nobody holds its reply right in a thread any more: the server may pass
    // the handle on, or die, while the caller still waits. So no thread may
    // treat it as "waiting for me" (MemoryUnmap's rule), and a kill finds
    // its wait here, never through a server thread that may be gone.
    __atomic_store_n(&caller.ipc.replier, nullptr, __ATOMIC_RELEASE);
    return true;
}

Thread* SavedReply::take()
{
    SpinLockGuard guard(s_lock);
    Thread* caller = m_caller;
    if (caller) {
        m_caller = nullptr;
        __atomic_store_n(&caller->ipc.saved_reply, nullptr, __ATOMIC_RELEASE);
    }
    return caller;
}

SpinLock SavedReply::s_lock;

bool SavedReply::unlink_caller(Thread& caller)
{
    SpinLockGuard guard(s_lock);
    SavedReply* reply = caller.ipc.saved_reply;
    if (!reply)
        return false;
    reply->m_caller = nullptr;
    __atomic_store_n(&caller.ipc.saved_reply, nullptr, __ATOMIC_RELEASE);
    return true;
}

void SavedReply::destroy()
{
    // The last handle went (dropped, or the server died) with the caller
    // still waiting: nobody will ever answer it.
    if (Thread* caller = take())
        ipc_wake_with_status(*caller, Error::PeerGone);
    this->~SavedReply();
    g_saved_replies.free_storage(this);
}

} // namespace herald
