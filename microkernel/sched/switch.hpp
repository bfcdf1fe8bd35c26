// The thread switch itself (switch_to), for the scheduler (scheduler.cpp)
// and for the IPC fast paths' hand-over (scheduler_hand_over_to, below),
// which inline it: a call, and the registers it saves and restores, on
// each of the two switches of every fast-path round trip and of every
// page fault served in ring 3 cost more than the copies of the code.
// Interrupts are off throughout (docs/scheduler.md, "Switching").
#pragma once

#include "scheduler.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/fpu.hpp"
#include "../arch/x86_64/gdt.hpp"
#include "../smp/processor.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"

extern "C" void switch_context(herald::u64* save_rsp, herald::u64 next_rsp); // context_switch.asm
extern "C" void scheduler_finish_switch();

namespace herald {

[[gnu::always_inline]] inline void switch_address_space(Processor& cpu, Thread& next)
{
    u64 root = next.task->root.get();
    if ((x86::read_cr3() & ~0xFFFull) != root) {
        // Recorded before the CR3 write: a TLB shootdown that misses this
        // record finds the page tables changed by the time we walk them
        // (smp/tlb_shootdown.hpp).
        __atomic_store_n(&cpu.active_root, root, __ATOMIC_RELAXED);
        x86::write_cr3(root);
        count<Event::AsSwitches>();
    }
}

// What a switch leaves to the thread switched to, once it runs on its own
// stack: the thread switched away from is off this CPU now (on_cpu), and
// goes where its state says. Always inline: switch_to runs it for every
// switch (the call, and its saving of registers, cost 5 instructions a
// switch); thread_start calls it through scheduler_finish_switch().
[[gnu::always_inline]] inline void finish_switch()
{
    Processor& cpu = this_processor();
    Thread* previous = cpu.previous;
    cpu.previous = nullptr;
    if (!previous)
        return;
    // Read the state before clearing on_cpu: from then on a waker on another
    // CPU may change it (a Blocked thread becomes Runnable in its run queue).
    ThreadState state = previous->state;
    __atomic_store_n(&previous->on_cpu, false, __ATOMIC_RELEASE);
    switch (state) {
    case ThreadState::Runnable:
        if (!previous->is_idle) {
            SpinLockGuard guard(cpu.run_lock);
            cpu.run_queue.push_back(*previous);
        }
        break;
    case ThreadState::Dead:
        release_thread(*previous);
        break;
    case ThreadState::Sleeping:
    case ThreadState::Blocked:
    case ThreadState::Running:
        break;
    }
}

// A direct switch (IPC hand-over) passes the rest of the slice on to the
// partner instead of starting a new one: a client and a server that switch
// back and forth must still use up a slice, so that other threads queued on
// this CPU get their turn.
enum class SwitchSlice { Fresh, Donated };

// What is known of the thread switched to. Any: nothing (it may never have
// run, or last ran on another CPU). BlockedHere: an IPC hand-over's partner,
// blocked, whose `cpu` the fast path's guards found to be this CPU
// (ipc/fastpath.cpp; why that is enough: scheduler_hand_over_to): it has
// run, here, so there is no migration to count and its CPU is this one
// already.
enum class SwitchTarget { Any, BlockedHere };

// Always inline: the IPC hand-over (scheduler_hand_over_to, below) runs it
// for every message on the fast path; inline, it saves the call and the
// saving and restoring of the registers it would use (32 instructions per
// round trip, docs/benchmarks.md).
[[gnu::always_inline]] inline void switch_to(Processor& cpu, Thread& previous, Thread& next,
    SwitchSlice slice = SwitchSlice::Fresh, SwitchTarget known = SwitchTarget::Any)
{
    next.state = ThreadState::Running;
    __atomic_store_n(&next.on_cpu, true, __ATOMIC_RELAXED);
    if (known == SwitchTarget::Any) {
        if (next.has_run && next.cpu != cpu.index)
            ++next.migrations;
        next.cpu = cpu.index;
        next.has_run = true;
    }
    count<Event::ContextSwitches>();
    cpu.previous = &previous;
    cpu.current = &next;
    __atomic_store_n(&cpu.incoming, nullptr, __ATOMIC_RELEASE);
    if (slice == SwitchSlice::Fresh)
        cpu.slice_left = kSliceTicks;
    // Ring-3 entries (interrupts through the TSS, SYSCALL through %gs:8)
    // must land on the next thread's own kernel stack.
    x86::tss_of(cpu.index).rsp[0] = next.kernel_stack_top;
    x86::load_io_ports(cpu.index, next.task->io_ports);
    cpu.kernel_stack_top = next.kernel_stack_top;
    switch_address_space(cpu, next);
    // A thread's FS base (its thread-local storage, ThreadSetPointer). Ring 3
    // cannot write it (CR4.FSGSBASE is off); it can only reset it to 0 by
    // loading a selector into FS. So when both threads have 0 the CPU has 0
    // already, and a switch between threads that never set one (every
    // thread without thread-local storage) costs one test, no WRMSR.
    if (__builtin_expect((previous.fs_base | next.fs_base) != 0, false))
        x86::wrmsr(x86::kMsrFsBase, next.fs_base);
    if (previous.fpu_state)
        x86::fpu::save(previous.fpu_state);
    if (next.fpu_state)
        x86::fpu::restore(next.fpu_state);
    switch_context(&previous.saved_rsp, next.saved_rsp);
    // Back on `previous`, possibly much later and on another CPU.
    finish_switch();
}

// The IPC fast paths' switch (ipc/fastpath.cpp): block the current thread
// and hand this CPU to `next`, a blocked partner whose guards found
// `next.cpu == this CPU`, with interrupts off. What
// scheduler_block_and_switch_to does, less what those guards made true
// already: no interrupt flag to save and restore, no wait for next.on_cpu,
// no migration to count (it ran here last).
//
// Why `cpu == here` is enough: Thread::cpu is written only by switch_to on
// the CPU that is about to run the thread (and by adopt_current_context,
// for the context already running there). So `next.cpu == here` means next
// last ran here, and, since we are running here now, its switch away from
// this CPU has finished (finish_switch cleared its on_cpu before anything
// after it ran here). Any future writer of `cpu` (a migration or affinity
// call) must keep that: write it only on the thread's own CPU as it
// switches to it, never for a thread blocked elsewhere. No assertion of it
// here: HERALD_ASSERT(next.cpu == cpu.index) cost 8 instructions a page
// fault and 6 an IPC round trip (icount, -smp 2, docs/benchmarks.md).
[[gnu::always_inline]] inline void scheduler_hand_over_to(Thread& next)
{
    Processor& cpu = this_processor();
    Thread& self = *cpu.current;
    self.state = ThreadState::Blocked;
    switch_to(cpu, self, next, SwitchSlice::Donated, SwitchTarget::BlockedHere);
}

} // namespace herald
