// What ipc.cpp (the full paths) and fastpath.cpp share.
#pragma once

#include "../task/task.hpp"
#include "../task/thread.hpp"
#include "../object/handle_table.hpp"
#include "../object/lookup.hpp"
#include "ipc.hpp"
#include "message.hpp"

namespace herald {

// ---- the reply right ----
//
// A server holds at most one reply right: Thread::ipc.reply_to, the caller
// its next reply goes to. It is claimed with atomic exchanges, because three
// parties may race for it: the server replying, the server's task dying,
// and the caller's task being killed (ipc_cancel_wait). Inline: the fast
// paths give or claim one on every message.

// Gives `server` the right to reply to `caller`. A right it still held is
// dropped, and that earlier caller gets PeerGone instead of waiting forever.
inline void give_reply_right(Thread& server, Thread& caller)
{
    __atomic_store_n(&caller.ipc.awaiting_reply, true, __ATOMIC_RELAXED);
    __atomic_store_n(&caller.ipc.replier, &server, __ATOMIC_RELAXED);
    // seq_cst: whoever gives the right reads the caller's kill flag after
    // this (a kill that looked for the caller's wait before this exchange is
    // then seen; see kill_seen_after_reply_right).
    Thread* earlier = __atomic_exchange_n(&server.ipc.reply_to, &caller, __ATOMIC_SEQ_CST);
    if (earlier && earlier != &caller)
        ipc_wake_with_status(*earlier, Error::PeerGone);
}

// Takes the reply right to `caller` back from `server`; false if someone
// else (a reply, a death, a kill) took it first.
inline bool claim_reply_right(Thread& server, Thread& caller)
{
    Thread* expected = &caller;
    return __atomic_compare_exchange_n(&server.ipc.reply_to, &expected, nullptr, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

// ipc_answer_and_receive's fast path (fastpath.cpp): true when it answered
// `caller` (claimed already) with `info` and `word0` and `self` has its next
// message in `frame`.
bool fastpath_answer_receive(Thread& self, Thread& caller, u64 info, u64 word0, u64 handle, x86::InterruptFrame& frame);

// Right after give_reply_right(server, caller), by whichever side gave it:
// whether the caller's task is being killed. A kill that looked for the
// caller's wait before the right was given found nothing to cancel;
// give_reply_right's seq_cst exchange, and kill_task's seq_cst store and
// fence before it looks, make sure this load sees the flag then. The right
// is then taken back (claim_reply_right) and the caller ends instead of
// waiting for an answer that might never come.
inline bool kill_seen_after_reply_right(Thread& caller)
{
    return __atomic_load_n(&caller.task->kill_requested, __ATOMIC_SEQ_CST);
}

// The fast path of the kernel's Call in `self`'s name (fastpath.cpp): true
// when it handed `message` to a server thread waiting on this CPU and the
// call is over (its result, and the reply, in *self.ipc.frame); false when
// one of its guards leaves the call to the full path, untouched.
bool fastpath_call_from_kernel(Thread& self, Endpoint& endpoint, const IpcMessage& message);

// The kernel's Call on the full path (ipc.cpp), its reply and result in
// `scratch`, which it zeroes first (self.ipc.frame points at it).
ErrorOr<u64> full_call_from_kernel(Thread& self, Endpoint& endpoint, const IpcMessage& message, x86::InterruptFrame& scratch);

} // namespace herald
