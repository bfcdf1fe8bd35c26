// What ipc.cpp (the full paths) and fastpath.cpp share.
#pragma once

#include "../task/thread.hpp"
#include "handle_table.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}

IpcMessage read_message(const x86::InterruptFrame& frame);
void write_message(x86::InterruptFrame& frame, const IpcMessage& message);

// The caller's handle, if it names an object of `type` with `rights`; the
// object is retained and must be released by the caller.
ErrorOr<HandleEntry> lookup(Thread& thread, u64 handle, ObjectType type, u32 rights);

// The reply right (ipc.cpp): give it to a server for a caller, or claim it
// back to reply.
void give_reply_right(Thread& server, Thread& caller);
bool claim_reply_right(Thread& server, Thread& caller);

// The fast paths (fastpath.cpp): true when they did the whole call, false
// when one of their guards sends it to the full path instead.
bool fastpath_call(Thread& self, x86::InterruptFrame& frame);
bool fastpath_reply_receive(Thread& self, x86::InterruptFrame& frame);

} // namespace herald
