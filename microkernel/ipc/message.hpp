// Messages in system-call frames, and the wake-up of a thread blocked in
// IPC: what the rendezvous (ipc.cpp, fastpath.cpp) and the objects that
// queue threads (object/endpoint, object/notification, object/saved_reply)
// share.
#pragma once

#include "../arch/x86_64/interrupt_frame.hpp"
#include "../task/task.hpp"
#include "../task/thread.hpp"

namespace herald {

// The message a thread passes in its system-call registers (abi/ipc.hpp).
inline IpcMessage read_message(const x86::InterruptFrame& frame)
{
    return IpcMessage { frame.rsi, { frame.rdx, frame.r10, frame.r8, frame.r9, frame.r12, frame.r13, frame.r14, frame.r15 }, 0 };
}

// Puts `message` (and result 0) into a thread's system-call registers.
inline void write_message(x86::InterruptFrame& frame, const IpcMessage& message)
{
    frame.rax = 0;
    frame.rdi = message.badge;
    frame.rsi = message.info;
    frame.rdx = message.words[0];
    frame.r10 = message.words[1];
    frame.r8 = message.words[2];
    frame.r9 = message.words[3];
    frame.r12 = message.words[4];
    frame.r13 = message.words[5];
    frame.r14 = message.words[6];
    frame.r15 = message.words[7];
}

// The message a bound notification's bits arrive as (abi::kNotificationLabel).
IpcMessage notification_message(u64 bits);

// Wakes `thread` (blocked in IPC) with `status` as its system-call result.
void ipc_wake_with_status(Thread& thread, i64 status);

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
