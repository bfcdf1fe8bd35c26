// The scheduler: per-CPU run queues, round robin within a CPU, threads stay
// on their CPU, idle CPUs steal work and sleep in HLT until an IPI or tick.
//
// Policy (docs/scheduler.md):
//  - The timer ticks every kTickMs on every CPU. A thread runs for a slice of
//    kSliceTicks ticks; then, if another thread waits in the same CPU's
//    queue, it goes to the back of that queue. If nobody waits it simply
//    keeps running, on the same CPU: the seed's round robin moved every task
//    to another CPU at each tick, throwing away its caches.
//  - A new or woken thread is queued on the least loaded CPU (queued plus
//    running threads), and if that CPU is idle it gets a reschedule IPI right
//    away instead of waiting for its next tick (the seed's "for another day").
//  - A CPU whose queue is empty takes the most recently queued thread of the
//    CPU with the longest queue (work stealing), unless that thread was
//    pinned to its CPU.
//  - No priorities yet: every thread has the same weight.
#pragma once

#include "../arch/x86_64/traps.hpp"

#include "../lib/types.hpp"
#include "../smp/processor.hpp"
#include "../task/thread.hpp"

namespace herald {

inline constexpr u64 kTickMs = 10;
inline constexpr u32 kSliceTicks = 2;

// On the boot CPU: the current context becomes the thread "boot"; creates
// this CPU's idle thread and starts its timer.
void scheduler_start_boot_cpu();
// On an application processor: scheduler_start_application_cpu(), in the
// trap interface (arch/x86_64/traps.hpp).

// current_thread() is in smp/processor.hpp (inline: one load through %gs).

// Makes a new (or woken) thread runnable on the least loaded CPU.
void scheduler_enqueue(Thread& thread);
// On a chosen CPU, for good: the thread is pinned there (never stolen).
void scheduler_enqueue_on(Thread& thread, usize cpu_index);

// IPC (ipc/ipc.cpp): block the current thread until scheduler_wake(); or
// block it and hand this CPU straight to `next` (a blocked partner that the
// caller has just made ready), without going through any run queue.
void scheduler_block_current();
void scheduler_block_and_switch_to(Thread& next);
// The IPC fast paths' variant, scheduler_hand_over_to, is inline, in
// switch.hpp.
// Makes a blocked thread runnable again, on the CPU it last ran on.
void scheduler_wake(Thread& thread);

// Cuts a sleep short: the thread wakes at its CPU's next tick, as if its
// time had come. Does nothing to a thread that is not sleeping.
void scheduler_interrupt_sleep(Thread& thread);

// A thread that runs on another CPU gets a reschedule IPI there, so that
// it enters the kernel now (a kill of its task ends it on the way back to
// ring 3) rather than at that CPU's next tick. Does nothing otherwise.
void scheduler_kick(Thread& thread);

void scheduler_yield();
void scheduler_sleep_ms(u64 milliseconds);
[[noreturn]] void scheduler_exit_current();

// From the interrupt entry once the interrupt is acknowledged:
// scheduler_on_interrupt_exit(), in arch/x86_64/traps.hpp.

} // namespace herald
