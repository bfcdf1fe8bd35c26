// What ipc.cpp (the full paths) and fastpath.cpp share.
#pragma once

#include "../task/task.hpp"
#include "../task/thread.hpp"
#include "../object/handle_table.hpp"
#include "../object/lookup.hpp"
#include "ipc.hpp"
#include "message.hpp"

namespace herald {

// The reply right (ipc.cpp): give it to a server for a caller, or claim it
// back to reply.
void give_reply_right(Thread& server, Thread& caller);
bool claim_reply_right(Thread& server, Thread& caller);

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
