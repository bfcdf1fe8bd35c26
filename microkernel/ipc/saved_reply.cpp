#include "saved_reply.hpp"

#include "../abi/syscalls.hpp"
#include "../mm/kernel_pool.hpp"
#include "../sync/spinlock.hpp"
#include "../task/task.hpp"
#include "endpoint.hpp"

namespace herald {

namespace {

KernelPool<SavedReply> g_saved_replies;
SpinLock g_saved_replies_lock; // every SavedReply::m_caller and Thread::ipc.saved_reply

} // namespace

SavedReply* SavedReply::create()
{
    void* storage = g_saved_replies.allocate_storage();
    return storage ? new (storage) SavedReply() : nullptr;
}

bool SavedReply::link(Thread& caller)
{
    SpinLockGuard guard(g_saved_replies_lock);
    // kill_task sets the flag before it looks for the caller's wait
    // (ipc_cancel_wait, which takes this lock): either that look finds the
    // link made here, or this sees the flag. A kill is never lost.
    if (__atomic_load_n(&caller.task->kill_requested, __ATOMIC_ACQUIRE))
        return false;
    m_caller = &caller;
    caller.ipc.saved_reply = this;
    return true;
}

Thread* SavedReply::take()
{
    SpinLockGuard guard(g_saved_replies_lock);
    Thread* caller = m_caller;
    if (caller) {
        m_caller = nullptr;
        caller->ipc.saved_reply = nullptr;
    }
    return caller;
}

bool unlink_saved_reply(Thread& caller)
{
    SpinLockGuard guard(g_saved_replies_lock);
    SavedReply* reply = caller.ipc.saved_reply;
    if (!reply)
        return false;
    reply->unlink_for_cancel();
    caller.ipc.saved_reply = nullptr;
    return true;
}

void SavedReply::destroy()
{
    // The last handle went (dropped, or the server died) with the caller
    // still waiting: nobody will ever answer it.
    if (Thread* caller = take())
        ipc_wake_with_status(*caller, static_cast<i64>(abi::SyscallError::PeerGone));
    this->~SavedReply();
    g_saved_replies.free_storage(this);
}

} // namespace herald
