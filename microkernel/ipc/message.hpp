// Messages in system-call frames, and the wake-up of a thread blocked in
// IPC: what the rendezvous (ipc.cpp, fastpath.cpp) and the objects that
// queue threads (object/endpoint, object/notification, object/saved_reply)
// share.
#pragma once

#include "../arch/x86_64/syscall_abi.hpp"
#include "../lib/error.hpp"
#include "../task/task.hpp"
#include "../task/thread.hpp"

namespace herald {

// The message a bound notification's bits arrive as (abi::kNotificationLabel).
IpcMessage notification_message(u64 bits);

// Wakes `thread` (blocked in IPC) with `error` as its system-call result.
void ipc_wake_with_status(Thread& thread, Error error);

// A thread about to block in IPC has just made itself findable (queued,
// with blocked_on or waiting_on set, under the object's lock). A kill of
// its task that looked for it a moment earlier found nothing to cancel: it
// must not be lost, or the thread would wait forever. kill_task stores its
// flag with a full barrier before it looks; the thread fences here before it
// reads the flag: one of the two sees the other.
inline bool ipc_kill_came_first(Thread& self)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&self.task->kill_requested, __ATOMIC_ACQUIRE);
}

} // namespace herald
