// SavedReply: a reply right a server has set aside (IpcReplySave), so that
// it can serve other clients and answer this caller later (IpcReplyTo), the
// way seL4's reply objects let a server defer a reply.
//
// A server holds one implicit reply right at a time (Thread::ipc.reply_to,
// ipc/ipc.cpp). IpcReplySave moves it into a SavedReply behind a handle; the
// caller keeps waiting, with Thread::ipc.saved_reply pointing back at it.
// The caller is woken exactly once, by whichever comes first:
//   - IpcReplyTo on the handle: the reply;
//   - the last handle to it closed (the server dropped it, or died): PeerGone;
//   - the caller's task killed (ipc_cancel_wait): PeerGone.
// Which one won is decided under one lock (SavedReply::s_lock): saving,
// answering and killing are rare next to plain calls, so one lock for all
// saved replies costs nothing on the fast paths, which never see them.
#pragma once

#include "../task/thread.hpp"
#include "../sync/spinlock.hpp"
#include "kernel_object.hpp"

namespace herald {

class SavedReply final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::SavedReply;
    static Ref<SavedReply> create(); // null when out of memory

    // Links the reply to `caller`, whose reply right its server has just
    // claimed. False if the caller's task is being killed: then nothing
    // was linked, and the saver wakes the caller with PeerGone itself.
    bool link(Thread& caller);
    // The caller, unlinked: the one who gets it delivers the reply (or
    // PeerGone). nullptr if it was answered, dropped or killed already.
    Thread* take();

    // From ipc_cancel_wait: if `caller` waits for a saved reply, unlinks it
    // and returns true (the canceller wakes it with PeerGone).
    static bool unlink_caller(Thread& caller);

private:
    SavedReply() : KernelObject(kType) { }
    void destroy() override;

    // One lock for every SavedReply::m_caller and Thread::ipc.saved_reply.
    static SpinLock s_lock;
    Thread* m_caller GUARDED_BY(s_lock) { nullptr };
};


} // namespace herald
