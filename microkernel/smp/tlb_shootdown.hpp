// TLB shootdown: when page-table entries of an address space are removed
// or changed, no CPU may go on using a translation it cached through them
// once the frame behind is reused (docs/memory.md, "TLB shootdown").
//
// Which CPUs may hold entries of an address space: those whose CR3 holds its
// root now. A CPU records the root it loads (Processor::active_root) before
// it writes CR3 at a switch (sched/scheduler.cpp), and every CR3 write drops
// all non-global entries (Herald uses no PCIDs and no global user pages), so
// a CPU that has switched away holds none. The initiator, after changing the
// entries, fences and reads every CPU's active_root: a CPU it does not see
// there loads CR3 (serializing) after its record was visible, so its page
// walks see the changed entries. Those it sees get one IPI each, and it waits
// until every one has invalidated the pages (INVLPG, or a CR3 reload for a
// batch of more than kShootdownBatch pages). Its own CPU's entries are
// invalidated directly.
//
// Initiators hold no spin lock while they wait (a CPU spinning with
// interrupts off on a lock the initiator held would never answer); a CPU
// that waits to start a shootdown of its own answers requests meanwhile.
// The one exception, the ring-0 memory service, holds its lock through its
// shootdowns: every CPU waiting for that lock answers requests meanwhile.
#pragma once

#include "../lib/types.hpp"
#include "../sync/spinlock.hpp"

namespace herald {

inline constexpr usize kShootdownBatch = 16;

// Registers the IPI handler; reads `tlb_shootdown=off` from the kernel
// command line (the test images' check that the stale-entry test can fail).
void tlb_shootdown_init(bool disabled);

// The entries for `pages` (virtual addresses; more than kShootdownBatch: the
// whole address space) of the address space whose PML4 is at `root` were
// just changed: returns once no CPU holds them. Call with no spin lock held
// (the ring-0 memory service lets its own go first: KernelBackend::settle,
// services/memory_in_kernel.cpp).
void tlb_shootdown(u64 root, const u64* pages, usize count);

// Answers a shootdown asked of this CPU, if one is: for a CPU that waits
// with interrupts off for another (wait_for_page_views_of, smp/page_views.hpp), which
// may itself be waiting for this one's answer.
void tlb_shootdown_answer_pending();

// Takes `lock`, answering this CPU's shootdown requests while it spins: for
// a lock whose holder may start a shootdown, which would otherwise wait for
// ever for a CPU spinning here with interrupts off. The ring-0 memory
// service's (services/memory_in_kernel.cpp) is taken so: its holder used to
// shoot down, and lets the lock go for that now, but a CPU that answers
// while it spins costs nothing while the lock is free (try_lock first).
// Hand the result to a guard.
SavedInterrupts lock_answering_shootdowns_slowly(SpinLock& lock) ACQUIRE(lock);
inline SavedInterrupts lock_answering_shootdowns(SpinLock& lock) ACQUIRE(lock) NO_THREAD_SAFETY_ANALYSIS
{
    SavedInterrupts interrupts;
    if (lock.try_lock(interrupts)) // free: as cheap as lock()
        return interrupts;
    return lock_answering_shootdowns_slowly(lock);
}

// Whether shootdowns were switched off on the command line.
bool tlb_shootdown_disabled();

} // namespace herald
