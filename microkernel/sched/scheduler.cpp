#include "scheduler.hpp"
#include "switch.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/fpu.hpp"
#include "../arch/x86_64/gdt.hpp"
#include "../arch/x86_64/idt.hpp"
#include "../arch/x86_64/lapic.hpp"
#include "../arch/x86_64/tsc.hpp"
#include "../arch/x86_64/vectors.hpp"
#include "../lib/assert.hpp"
#include "../log.hpp"
#include "../panic.hpp"
#include "../smp/processor.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"


namespace herald {

namespace {

// The interrupted context of a CPU, while interrupts are off.
class InterruptsOff {
public:
    InterruptsOff() : m_were_enabled(x86::read_rflags() & x86::kRflagsInterruptEnable) { x86::disable_interrupts(); }
    ~InterruptsOff()
    {
        if (m_were_enabled)
            x86::enable_interrupts();
    }

private:
    bool m_were_enabled;
};

// Queued threads, the running one, and one taken from the queue that is not
// running yet (without it, two new threads could both pick a CPU that is
// between the two). Racy reads, fine for placement; x86 keeps the order:
// `incoming` is written before the queue shrinks, and read after.
usize load_of(Processor& cpu)
{
    bool busy = cpu.current && !cpu.current->is_idle;
    usize queued = cpu.queued_racy();
    bool incoming = __atomic_load_n(&cpu.incoming, __ATOMIC_ACQUIRE) != nullptr;
    return queued + (busy ? 1 : 0) + (incoming ? 1 : 0);
}

usize least_loaded_cpu()
{
    usize best = this_processor().index;
    usize best_load = ~usize(0);
    for (usize i = 0; i < processor_count(); ++i) {
        Processor& cpu = processor(i);
        if (!cpu.scheduler_running)
            continue;
        usize load = load_of(cpu);
        if (load < best_load) {
            best = i;
            best_load = load;
        }
    }
    return best;
}

Thread* pop_own(Processor& cpu)
{
    SpinLockGuard guard(cpu.run_lock);
    Thread* next = cpu.run_queue.front();
    if (next) {
        __atomic_store_n(&cpu.incoming, next, __ATOMIC_RELEASE);
        cpu.run_queue.pop_front();
    }
    return next;
}

// Takes the most recently queued thread of the CPU with the longest queue.
// try_lock only: two idle CPUs stealing from each other must not deadlock.
Thread* steal(Processor& self)
{
    Processor* victim = nullptr;
    usize longest = 0;
    for (usize i = 0; i < processor_count(); ++i) {
        Processor& cpu = processor(i);
        usize waiting = cpu.queued_racy(); // checked again under the lock
        if (&cpu != &self && waiting > longest) {
            victim = &cpu;
            longest = waiting;
        }
    }
    if (!victim)
        return nullptr;
    SavedInterrupts interrupts;
    if (!victim->run_lock.try_lock(interrupts))
        return nullptr;
    Thread* thread;
    {
        SpinLockGuard guard(victim->run_lock, adopt_lock, interrupts);
        thread = victim->run_queue.back();
        while (thread && thread->pinned)
            thread = thread->queue_prev;
        if (thread) {
            __atomic_store_n(&self.incoming, thread, __ATOMIC_RELEASE);
            victim->run_queue.remove(*thread);
        }
    }
    if (thread)
        ++self.steals;
    return thread;
}

// Picks what runs next on this CPU and switches to it. Interrupts are off.
void schedule()
{
    Processor& cpu = this_processor();
    Thread& previous = *cpu.current;
    Thread* next = pop_own(cpu);
    if (!next)
        next = steal(cpu);
    if (!next) {
        if (previous.state == ThreadState::Running && !previous.is_idle) {
            cpu.slice_left = kSliceTicks; // nobody else wants this CPU
            return;
        }
        next = cpu.idle_thread;
    }
    if (next == &previous)
        return;
    if (previous.state == ThreadState::Running)
        previous.state = ThreadState::Runnable;
    switch_to(cpu, previous, *next);
}

// The list is sorted by wake time, but scheduler_interrupt_sleep() may move
// any entry's time to 0, so every entry is looked at (lists are short).
void wake_sleepers(Processor& cpu)
{
    u64 now = x86::rdtsc();
    Thread** link = &cpu.sleepers;
    while (*link) {
        Thread* thread = *link;
        if (__atomic_load_n(&thread->wake_at, __ATOMIC_ACQUIRE) > now) {
            link = &thread->sleep_next;
            continue;
        }
        *link = thread->sleep_next;
        thread->sleep_next = nullptr;
        thread->state = ThreadState::Runnable;
        SpinLockGuard guard(cpu.run_lock);
        cpu.run_queue.push_back(*thread);
        cpu.need_resched = true;
    }
}

void on_timer(x86::InterruptFrame&)
{
    kernel_log_tick(); // the console prints what the kernel logged (log.hpp)
    Processor& cpu = this_processor();
    if (!cpu.scheduler_running)
        return;
    ++cpu.ticks;
    ++cpu.current->runtime_ticks;
    wake_sleepers(cpu);
    if (cpu.current->is_idle) {
        cpu.need_resched = true; // look for work, stealing included
    } else if (--cpu.slice_left == 0) {
        if (!cpu.queue_empty_racy()) // schedule() looks again under the lock
            cpu.need_resched = true;
        else
            cpu.slice_left = kSliceTicks;
    }
}

void on_reschedule_ipi(x86::InterruptFrame&)
{
    Processor& cpu = this_processor();
    ++cpu.reschedule_ipis;
    cpu.need_resched = true;
}

[[noreturn]] void idle_loop(u64)
{
    for (;;) {
        x86::disable_interrupts();
        // Again after every schedule(): work may have been queued while this
        // CPU was busy, by a CPU that saw it as not idle and sent no IPI.
        while (!this_processor().queue_empty_racy())
            schedule();
        // STI takes effect after HLT has started, so an IPI that arrives
        // between the check and HLT still wakes this CPU.
        x86::enable_interrupts_and_halt();
    }
}

Thread* make_idle_thread()
{
    auto thread = create_kernel_thread("idle", idle_loop, 0);
    if (thread.is_error())
        panic("cannot create an idle thread: {}", error_name(thread.error()));
    thread.value()->is_idle = true;
    return thread.value();
}

// The thread object for a context that is already running (the boot
// thread, an AP's first context): it has no initial frame to build.
Thread* adopt_current_context(StringView name, bool idle)
{
    auto thread = create_thread_for_running_context(name);
    if (thread.is_error())
        panic("cannot create the thread of the running context: {}", error_name(thread.error()));
    Thread* self = thread.value();
    self->is_idle = idle;
    self->state = ThreadState::Running;
    self->on_cpu = true;
    self->has_run = true;
    self->cpu = this_processor().index;
    return self;
}

void start_this_cpu(Thread* current, Thread* idle)
{
    Processor& cpu = this_processor();
    cpu.active_root = x86::read_cr3() & ~0xFFFull;
    cpu.current = current;
    cpu.idle_thread = idle;
    cpu.slice_left = kSliceTicks;
    __atomic_store_n(&cpu.scheduler_running, true, __ATOMIC_RELEASE);
    x86::lapic::start_periodic_timer(kTickMs);
}

} // namespace

extern "C" void scheduler_finish_switch() { finish_switch(); }

void scheduler_start_boot_cpu()
{
    tasks_init();
    x86::set_interrupt_handler(x86::kVectorTimer, on_timer);
    x86::set_interrupt_handler(x86::kVectorReschedule, on_reschedule_ipi);
    Thread* boot = adopt_current_context("boot", false);
    boot->pinned = true; // it runs on the boot stack of the boot CPU: it stays there
    start_this_cpu(boot, make_idle_thread());
}

void scheduler_start_application_cpu()
{
    Thread* idle = adopt_current_context("idle", true);
    start_this_cpu(idle, idle);
    idle_loop(0);
}

namespace {

void enqueue(Thread& thread, usize cpu_index)
{
    // A thread still being switched away from on some CPU must not start
    // elsewhere on the same stack.
    while (__atomic_load_n(&thread.on_cpu, __ATOMIC_ACQUIRE))
        x86::pause();
    Processor& target = processor(cpu_index);
    thread.state = ThreadState::Runnable;
    bool target_idle;
    {
        SpinLockGuard guard(target.run_lock);
        target.run_queue.push_back(thread);
        target_idle = target.current == nullptr || target.current->is_idle;
    }
    if (&target != &this_processor() && target_idle)
        x86::lapic::send_ipi(target.apic_id, x86::kVectorReschedule);
}

} // namespace

void scheduler_enqueue_on(Thread& thread, usize cpu_index)
{
    thread.pinned = true;
    enqueue(thread, cpu_index);
}

void scheduler_enqueue(Thread& thread)
{
    thread.pinned = false;
    enqueue(thread, least_loaded_cpu());
}

void scheduler_wake(Thread& thread) { enqueue(thread, thread.cpu); }

void scheduler_block_current()
{
    InterruptsOff off;
    current_thread().state = ThreadState::Blocked;
    schedule();
}

void scheduler_block_and_switch_to(Thread& next)
{
    InterruptsOff off;
    Processor& cpu = this_processor();
    Thread& self = *cpu.current;
    // `next` may still be finishing its switch away on another CPU.
    while (__atomic_load_n(&next.on_cpu, __ATOMIC_ACQUIRE))
        x86::pause();
    self.state = ThreadState::Blocked;
    switch_to(cpu, self, next, SwitchSlice::Donated);
}

void scheduler_kick(Thread& thread)
{
    // Racy: a thread that stops running meanwhile has entered the kernel,
    // where it sees its task's kill flag anyway.
    if (static_cast<volatile const ThreadState&>(thread.state) != ThreadState::Running)
        return;
    u32 cpu = __atomic_load_n(&thread.cpu, __ATOMIC_ACQUIRE);
    if (cpu != this_processor().index && cpu < processor_count())
        x86::lapic::send_ipi(processor(cpu).apic_id, x86::kVectorReschedule);
}

void scheduler_interrupt_sleep(Thread& thread)
{
    // Only the wake time changes; the sleeper stays in its CPU's list, which
    // only that CPU edits. Its next tick sees a time in the past.
    __atomic_store_n(&thread.wake_at, 0, __ATOMIC_RELEASE);
}

void scheduler_yield()
{
    InterruptsOff off;
    schedule();
}

void scheduler_sleep_ms(u64 milliseconds)
{
    InterruptsOff off;
    Processor& cpu = this_processor();
    Thread& self = *cpu.current;
    // wake_at is atomic throughout (relaxed where no order is needed): a
    // kill on another CPU stores 0 into it (scheduler_interrupt_sleep), and
    // the fence below orders our store against that one only if both are
    // atomic (C++20 [atomics.fences]), not merely because x86 is TSO.
    u64 wake_at = x86::rdtsc() + milliseconds * tsc::ticks_per_ms().value();
    __atomic_store_n(&self.wake_at, wake_at, __ATOMIC_RELAXED);
    Thread** link = &cpu.sleepers;
    while (*link && __atomic_load_n(&(*link)->wake_at, __ATOMIC_RELAXED) <= wake_at)
        link = &(*link)->sleep_next;
    self.sleep_next = *link;
    *link = &self;
    // A kill that came just before (kill_task's scheduler_interrupt_sleep
    // found no wake time to move yet) ends the sleep at the next tick
    // (kill_task's seq_cst flag and this fence: one sees the other).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (self.task && __atomic_load_n(&self.task->kill_requested, __ATOMIC_ACQUIRE))
        __atomic_store_n(&self.wake_at, 0, __ATOMIC_RELEASE);
    self.state = ThreadState::Sleeping;
    schedule();
}

void scheduler_exit_current()
{
    x86::disable_interrupts();
    current_thread().state = ThreadState::Dead;
    thread_ending(current_thread());
    schedule();
    panic("a dead thread was scheduled again");
}

void scheduler_on_interrupt_exit()
{
    Processor& cpu = this_processor();
    if (!cpu.need_resched || !cpu.scheduler_running || cpu.previous)
        return;
    cpu.need_resched = false;
    schedule();
}

} // namespace herald
