// Notification: a word of bits that signal() ORs in and a waiter takes out;
// asynchronous, for interrupts, page-fault results and wake-ups. A
// notification bound to an endpoint (Endpoint::bind) delivers its bits to
// whoever receives there, as a message of their own (docs/ipc.md).
#pragma once

#include "../lib/error.hpp"
#include "../sched/run_queue.hpp"
#include "../sync/spinlock.hpp"
#include "../task/thread.hpp"
#include "kernel_object.hpp"

namespace herald {

class Endpoint;

class Notification final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Notification;
    static Ref<Notification> create(); // null when out of memory

    SpinLock lock;
    u64 bits GUARDED_BY(lock) { 0 };
    RunQueue<Thread> waiters GUARDED_BY(lock);
    // The endpoint it is bound to (Endpoint::bind), if any: then its bits
    // change only under that endpoint's lock, taken first. Holds a
    // reference, which destroy() drops.
    Endpoint* bound_to { nullptr };
    // Open handles that may wait on it. A signal through a handle when none
    // is left gets PeerGone: whoever waited is gone (the console drops such
    // subscribers).
    u32 receive_rights { 0 };

    // ORs `bits` in and wakes one waiter (or the bound endpoint's
    // receiver); any context, also an interrupt handler.
    void signal(u64 bits);
    // Takes every set bit (maybe none) at once.
    u64 take_bits();
    // Blocks `self` (in a system call) until some bit is set; returns the
    // bits, or PeerGone (the task is being killed, or the notification went
    // away). Takes the caller's reference and drops
    // it before blocking: a queued waiter holds none, so closing the last
    // handle still destroys the notification and wakes the waiter.
    static ErrorOr<u64> wait(Thread& self, Ref<Notification> notification);
    // Like wait(), but gives up with TimedOut after `timeout_ms`; looks at
    // the bits once per tick. The caller keeps its reference.
    ErrorOr<u64> wait_with_timeout(Thread& self, u64 timeout_ms);
    // Whether any bit is set, read under the lock of the endpoint it is
    // bound to (which every change of a bound notification's bits holds).
    bool bits_seen_by_bound_endpoint() const NO_THREAD_SAFETY_ANALYSIS { return bits != 0; }
    // Whether anyone can still wait for its bits: a handle that may wait,
    // or an endpoint it is bound to.
    bool can_be_waited_on() const;
    // The bound endpoint is going (Endpoint::destroy).
    void unbind();

    void handle_opened(u32 rights) override;
    void handle_closed(u32 rights) override;

private:
    Notification() : KernelObject(kType) { }
    void destroy() override;
    void free_retired_storage() override;
    bool signal_bound(u64 bits);
};

// Notifications allocated now (a racy count, for tests: a leak shows as growth).
usize notifications_in_use();

} // namespace herald
