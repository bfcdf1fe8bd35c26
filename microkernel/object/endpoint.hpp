// Endpoint: a rendezvous point for synchronous messages (the L4/seL4 kind).
//
// A sender (send or call) and a receiver meet here: whichever comes first
// waits in the endpoint's queue until the other arrives; then the message
// goes straight from one thread to the other. Nothing is buffered. The
// rendezvous itself (matching, copying, the reply right, the direct switch)
// lives in ipc/; this is the object and what it owns.
//
// When the last handle with the receive right is closed (its server ended),
// nobody can ever answer: every waiting sender gets PeerGone, and so does
// every later send.
#pragma once

#include "../lib/error.hpp"
#include "../sched/run_queue.hpp"
#include "../sync/spinlock.hpp"
#include "../task/thread.hpp"
#include "kernel_object.hpp"
#include "notification.hpp"

namespace herald {

class Endpoint final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Endpoint;
    static Ref<Endpoint> create(); // null when out of memory

    SpinLock lock;
    RunQueue<Thread> senders GUARDED_BY(lock);   // blocked in send or call; their message is in ipc.outgoing
    RunQueue<Thread> receivers GUARDED_BY(lock); // blocked in receive
    u32 receive_rights GUARDED_BY(lock) { 0 };   // open handles with RightReceive
    // Its bits reach receivers as messages (abi::kNotificationLabel). Set
    // once, by the kernel, before anyone uses the endpoint; holds a
    // reference. Read under `lock` once in use: release_binding() clears it so.
    Notification* bound { nullptr };
    // The last receive took the bound notification's bits: the next one
    // serves a queued sender first, so that a notification signalled
    // without pause (a flood of kernel log lines) cannot starve clients.
    bool gave_bits_last GUARDED_BY(lock) { false };

    // Binds `notification` (kernel bootstrap, before either is used): its
    // signals reach whoever receives here. Each holds a reference to the
    // other, so both live until release_binding().
    void bind(Notification& notification);
    // The kernel no longer signals the bound notification through anything
    // but references (its interrupt and the kernel log moved on: a console
    // restart, services/console_server.cpp): drops the endpoint's reference
    // to it. The notification keeps its reference to the endpoint until it
    // is destroyed itself, so a signal in flight (whose caller holds the
    // notification) still finds the endpoint; then both go once their
    // handles do.
    void release_binding();
    // Under `lock`: takes the bound notification's bits, if any.
    u64 take_bound_bits() REQUIRES(lock) { return bound ? bound->take_bits() : 0; }
    // Under `lock`: whether the bound notification has bits to deliver.
    bool bound_bits_pending() REQUIRES(lock) { return bound && bound->bits_seen_by_bound_endpoint(); }

    // Under `lock`: the receiver a message sent from CPU `cpu` should go
    // to. The task is always that of the receiver that waited longest (FIFO
    // among tasks: which task gets a message is never up to the CPU);
    // among that task's threads, the one that waited longest among those
    // that last ran on `cpu` (a server with a thread per CPU answers each
    // CPU's callers there, without IPIs), else the one that waited longest;
    // nullptr if none waits. Left in the queue.
    Thread* receiver_for(u32 cpu) REQUIRES(lock) { return receivers.front_for_cpu(cpu); }

    void handle_opened(u32 rights) override;
    void handle_closed(u32 rights) override;

private:
    Endpoint() : KernelObject(kType) { }
    void destroy() override;
    void free_retired_storage() override;
    // Under `lock`: wakes every thread of `queue` with `error`.
    static void fail_all(RunQueue<Thread>& queue, Error error); // `queue` is one of ours, under `lock`
};

// Endpoints allocated now (a racy count, for tests: a leak shows as growth).
usize endpoints_in_use();

} // namespace herald
