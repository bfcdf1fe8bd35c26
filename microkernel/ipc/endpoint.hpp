// Endpoint: a rendezvous point for synchronous messages (the L4/seL4 kind).
//
// A sender (send or call) and a receiver meet here: whichever comes first
// waits in the endpoint's queue until the other arrives; then the message
// goes straight from one thread to the other. Nothing is buffered.
//
// When the last handle with the receive right is closed (its server ended),
// nobody can ever answer: every waiting sender gets PeerGone, and so does
// every later send.
#pragma once

#include "../sched/run_queue.hpp"
#include "../sync/spinlock.hpp"
#include "../task/thread.hpp"
#include "kernel_object.hpp"

namespace herald {

class Endpoint final : public KernelObject {
public:
    static Endpoint* create(); // nullptr when out of memory

    SpinLock lock;
    RunQueue<Thread> senders;   // blocked in send or call; their message is in ipc.outgoing
    RunQueue<Thread> receivers; // blocked in receive
    u32 receive_rights { 0 };   // open handles with RightReceive
    // Its bits reach receivers as messages (abi::kNotificationLabel). Set
    // once, by the kernel, before anyone uses the endpoint; holds a reference.
    class Notification* bound { nullptr };
    // The last receive took the bound notification's bits: the next one
    // serves a queued sender first, so that a notification signalled
    // without pause (a flood of kernel log lines) cannot starve clients.
    bool gave_bits_last { false };

    void handle_opened(u32 rights) override;
    void handle_closed(u32 rights) override;

private:
    Endpoint() : KernelObject(ObjectType::Endpoint) { }
    void destroy() override;
};

// Notification: a word of bits that signal() ORs in and wait() takes out;
// asynchronous, for interrupts, page-fault results and wake-ups.
class Notification final : public KernelObject {
public:
    static Notification* create();

    SpinLock lock;
    u64 bits { 0 };
    RunQueue<Thread> waiters;
    // The endpoint it is bound to (bind_notification), if any: then its
    // bits change only under that endpoint's lock, taken first.
    Endpoint* bound_to { nullptr };
    // Open handles that may wait on it. A signal through a handle when none
    // is left gets PeerGone: whoever waited is gone (the console drops such
    // subscribers).
    u32 receive_rights { 0 };

    void handle_opened(u32 rights) override;
    void handle_closed(u32 rights) override;

private:
    Notification() : KernelObject(ObjectType::Notification) { }
    void destroy() override;
};

// Binds `notification` to `endpoint` (kernel bootstrap, before either is
// used): its signals reach whoever receives on the endpoint. Both then live
// as long as the kernel (an interrupt may signal at any time).
void bind_notification(Endpoint& endpoint, Notification& notification);

// Wakes `thread` (blocked in IPC) with `status` as its system-call result.
void ipc_wake_with_status(Thread& thread, i64 status);

} // namespace herald
