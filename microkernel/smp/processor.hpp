// Processor: what the kernel keeps per CPU, reached through GS.
//
// Each CPU's GS base points at its own Processor, so `this_processor()` is
// one instruction and needs no lock. The first fields sit at fixed offsets
// because assembly (the syscall entry, later) reads them through %gs.
#pragma once

#include "../arch/x86_64/gdt.hpp"
#include "../lib/page_view_record.hpp"
#include "../lib/types.hpp"
#include "../sched/run_queue.hpp"
#include "../stats/event_counters.hpp"
#include "../sync/spinlock.hpp"
#include "../task/thread.hpp"

namespace herald {

struct Processor {
    Processor* self;             // %gs:0
    u64 kernel_stack_top;        // %gs:8
    u64 user_stack_scratch;      // %gs:16
    EventCounters events;        // %gs:24: stats/event_counters.hpp counts through %gs

    u32 index;                   // 0 = the boot CPU; dense, in start order
    u32 apic_id;
    bool started;                // set by the AP at its first C++ instruction
    bool online;                 // set once the AP has finished its setup
    x86::InterruptStackTops interrupt_stacks;
    u64 first_stack_top;         // the stack an AP started on (its idle loop runs there)
    u64 ping_count;              // IPIs of kVectorPingIpi received (tests, benchmarks)

    // The scheduler's per-CPU state (sched/scheduler.cpp). run_lock guards
    // run_queue; the rest is only touched by this CPU with interrupts off.
    SpinLock run_lock;
    RunQueue<Thread> run_queue GUARDED_BY(run_lock);
    // Racy looks at run_queue without its lock, for placement, stealing and
    // idling: a stale answer costs one more look later, never a lost
    // thread (scheduler.cpp says why at each use).
    usize queued_racy() const NO_THREAD_SAFETY_ANALYSIS { return run_queue.size(); }
    bool queue_empty_racy() const NO_THREAD_SAFETY_ANALYSIS { return run_queue.is_empty(); }
    Thread* current;
    Thread* idle_thread;
    Thread* previous;            // the thread being switched away from
    Thread* incoming;            // taken from a queue, not yet current: still counts as load
    Thread* sleepers;            // sorted by wake time
    u64 ticks;
    u32 slice_left;
    bool need_resched;
    bool scheduler_running;
    u64 reschedule_ipis;         // received
    // The PML4 this CPU's CR3 holds, recorded before each CR3 write at a
    // switch; and a TLB shootdown asked of it (smp/tlb_shootdown.hpp).
    u64 active_root;
    bool shootdown_pending;
    // Pages of user RAM this CPU reaches through the physmap right now
    // (mm/address_space.hpp, PageView): written by this CPU only, read by a
    // MemoryUnmap or a teardown on any CPU, which waits for them to go
    // (smp/page_views.hpp).
    PageViewRecord page_views[kViewSlots];
    u64 steals;                  // threads taken from other CPUs
};
static_assert(__builtin_offsetof(Processor, self) == 0);
static_assert(__builtin_offsetof(Processor, kernel_stack_top) == 8);
static_assert(__builtin_offsetof(Processor, user_stack_scratch) == 16); // syscall_entry.asm
static_assert(__builtin_offsetof(Processor, events) == kProcessorEventsOffset);

inline Processor& this_processor()
{
    Processor* processor;
    asm volatile("mov %%gs:0, %0" : "=r"(processor));
    return *processor;
}

// The thread running on this CPU: one load through %gs, since every system
// call and IPC path asks for it (the scheduler changes Processor::current
// only on this CPU, with interrupts off). Volatile like this_processor(): a
// thread that switches away may come back on another CPU.
inline Thread& current_thread()
{
    Thread* thread;
    asm volatile("mov %%gs:%c1, %0" : "=r"(thread) : "i"(__builtin_offsetof(Processor, current)));
    return *thread;
}

// CPUs that came online, the boot CPU first. Stable once SMP bring-up ends.
usize processor_count();
Processor& processor(usize index);

// Makes `processor` this CPU's (sets the GS base) and records it.
void install_processor(Processor& processor);
// Adds a CPU that is online to the table; its index must be the next one.
void register_processor(Processor& processor);

} // namespace herald
