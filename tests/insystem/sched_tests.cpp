// Self-tests of threads and the scheduler, with kernel threads: placement,
// sleeping, yielding, CPUs keeping their threads, waking parked CPUs by IPI,
// and reclaiming what exited threads held.
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/lapic.hpp"
#include "microkernel/log.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/smp/processor.hpp"
#include "microkernel/task/task.hpp"
#include "selftest.hpp"

using namespace herald;

namespace {

// Polls `done` (sleeping between looks) for at most `timeout_ms`.
bool wait_until(const u64& done, u64 expected, u64 timeout_ms)
{
    return selftest::eventually([&] { return __atomic_load_n(&done, __ATOMIC_ACQUIRE) >= expected; }, timeout_ms);
}

Thread* spawn(StringView name, void (*entry)(u64), u64 parameter)
{
    auto thread = create_kernel_thread(name, entry, parameter);
    return thread.is_error() ? nullptr : thread.value();
}

// ---- every CPU runs what is queued on it ----
u64 g_ran_on[x86::kMaxCpus];
u64 g_finished;

void record_cpu(u64 slot)
{
    __atomic_store_n(&g_ran_on[slot], this_processor().index + 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&g_finished, 1, __ATOMIC_ACQ_REL);
    scheduler_exit_current();
}

} // namespace

HERALD_SELFTEST(a_thread_queued_on_a_cpu_runs_there)
{
    g_finished = 0;
    for (usize i = 0; i < processor_count(); ++i) {
        g_ran_on[i] = 0;
        Thread* thread = spawn("on-cpu", record_cpu, i);
        EXPECT(thread != nullptr);
        if (thread)
            scheduler_enqueue_on(*thread, i);
    }
    EXPECT(wait_until(g_finished, processor_count(), 2000));
    for (usize i = 0; i < processor_count(); ++i)
        EXPECT_EQ(g_ran_on[i], i + 1);
}

namespace {
u64 g_slept_us;
u64 g_sleep_done;
void sleep_30ms(u64)
{
    u64 start = x86::rdtsc();
    scheduler_sleep_ms(30);
    g_slept_us = (x86::rdtsc() - start) * 1000 / tsc::ticks_per_ms().value();
    __atomic_store_n(&g_sleep_done, 1, __ATOMIC_RELEASE);
    scheduler_exit_current();
}
} // namespace

HERALD_SELFTEST(sleep_lasts_at_least_the_time_asked)
{
    g_sleep_done = 0;
    Thread* thread = spawn("sleeper", sleep_30ms, 0);
    EXPECT(thread != nullptr);
    if (!thread)
        return;
    scheduler_enqueue(*thread);
    EXPECT(wait_until(g_sleep_done, 1, 2000));
    EXPECT(g_slept_us >= 30'000);
    EXPECT(g_slept_us < 1'000'000);
}

namespace {
u64 g_settled;
u64 g_snapshot;
u64 g_stop_spinning;
u64 g_spinners_recorded;
u64 g_spinners_done;
Thread* g_spinners[x86::kMaxCpus];
u64 g_spinner_cpu[x86::kMaxCpus];
u64 g_spinner_migrations_settled[x86::kMaxCpus];
u64 g_spinner_migrations[x86::kMaxCpus];

// Spins until told to stop, noting its migrations once the threads have
// settled and, later, its CPU and migrations while every spinner is still
// busy (once one ends, an idle CPU may rightly steal another that waits).
void spin_until_stopped(u64 slot)
{
    bool settled = false, recorded = false;
    while (!__atomic_load_n(&g_stop_spinning, __ATOMIC_ACQUIRE)) {
        if (!settled && __atomic_load_n(&g_settled, __ATOMIC_ACQUIRE)) {
            g_spinner_migrations_settled[slot] = current_thread().migrations;
            settled = true;
        }
        if (settled && !recorded && __atomic_load_n(&g_snapshot, __ATOMIC_ACQUIRE)) {
            g_spinner_cpu[slot] = this_processor().index;
            g_spinner_migrations[slot] = current_thread().migrations;
            recorded = true;
            __atomic_add_fetch(&g_spinners_recorded, 1, __ATOMIC_ACQ_REL);
        }
        x86::pause();
    }
    __atomic_add_fetch(&g_spinners_done, 1, __ATOMIC_ACQ_REL);
    scheduler_exit_current();
}

bool spinners_on_distinct_cpus(usize n)
{
    bool used[x86::kMaxCpus] = {};
    for (usize i = 0; i < n; ++i) {
        Thread* spinner = g_spinners[i];
        if (!spinner || !__atomic_load_n(&spinner->has_run, __ATOMIC_ACQUIRE))
            return false;
        usize cpu = __atomic_load_n(&spinner->cpu, __ATOMIC_ACQUIRE);
        if (used[cpu])
            return false;
        used[cpu] = true;
    }
    return true;
}
} // namespace

// N busy threads on N CPUs: once they have settled (a placement made while
// some CPU was briefly busy may be corrected by one steal at the start, on a
// heavily loaded host), each keeps its CPU for the rest of the run: many
// ticks and slices (the seed's round robin would have moved every one of
// them at every tick).
HERALD_SELFTEST(busy_threads_keep_their_cpus)
{
    usize n = processor_count();
    g_settled = 0;
    g_snapshot = 0;
    g_stop_spinning = 0;
    g_spinners_recorded = 0;
    g_spinners_done = 0;
    for (usize i = 0; i < n; ++i) {
        g_spinners[i] = spawn("spinner", spin_until_stopped, i);
        EXPECT(g_spinners[i] != nullptr);
        if (g_spinners[i])
            scheduler_enqueue(*g_spinners[i]);
    }
    // Settled: every spinner has run and each has a CPU of its own (a first
    // placement made while some CPU was briefly busy is corrected by a steal,
    // which a descheduled emulated CPU may make late).
    EXPECT(selftest::eventually([&] { return spinners_on_distinct_cpus(n); }, 5000));
    scheduler_sleep_ms(2 * kTickMs);
    __atomic_store_n(&g_settled, 1, __ATOMIC_RELEASE);
    scheduler_sleep_ms(300);
    __atomic_store_n(&g_snapshot, 1, __ATOMIC_RELEASE);
    EXPECT(wait_until(g_spinners_recorded, n, 3000));
    __atomic_store_n(&g_stop_spinning, 1, __ATOMIC_RELEASE);
    EXPECT(wait_until(g_spinners_done, n, 3000));
    bool cpu_used[x86::kMaxCpus] = {};
    for (usize i = 0; i < n; ++i) {
        EXPECT_EQ(g_spinner_migrations[i] - g_spinner_migrations_settled[i], 0u);
        EXPECT(g_spinner_migrations[i] <= 1u); // at most the one correction
        EXPECT(!cpu_used[g_spinner_cpu[i]]);
        cpu_used[g_spinner_cpu[i]] = true;
    }
}

namespace {
u64 g_woken_at;
u64 g_woken;
u64 g_timer_switched;
void note_wake_time(u64)
{
    g_woken_at = x86::rdtsc();
    __atomic_store_n(&g_woken, 1, __ATOMIC_RELEASE);
    scheduler_exit_current();
}
void stop_my_timer(u64)
{
    x86::lapic::stop_timer();
    __atomic_store_n(&g_timer_switched, 1, __ATOMIC_RELEASE);
    scheduler_exit_current();
}
void start_my_timer(u64)
{
    x86::lapic::start_periodic_timer(kTickMs);
    __atomic_store_n(&g_timer_switched, 1, __ATOMIC_RELEASE);
    scheduler_exit_current();
}
bool run_on(usize cpu, void (*entry)(u64))
{
    g_timer_switched = 0;
    auto thread = create_kernel_thread("timer-switch", entry, 0);
    if (thread.is_error())
        return false;
    scheduler_enqueue_on(*thread.value(), cpu);
    return wait_until(g_timer_switched, 1, 2000);
}
} // namespace

// A parked CPU starts newly queued work at once, woken by the reschedule
// IPI, not at its next timer tick. To make "not by a tick" certain, the
// target CPU's timer is stopped for the duration: only the IPI can wake it.
HERALD_SELFTEST(parked_cpu_is_woken_by_ipi)
{
    if (processor_count() < 2)
        return; // nothing to park on one CPU
    usize target = processor_count() - 1;
    Processor& cpu = processor(target);
    EXPECT(run_on(target, stop_my_timer));
    // It settles into its idle loop, in HLT.
    EXPECT(selftest::eventually([&] { return cpu.current && cpu.current->is_idle; }, 2000));
    g_woken = 0;
    auto thread = create_kernel_thread("wake-me", note_wake_time, 0);
    EXPECT(!thread.is_error());
    if (thread.is_error())
        return;
    u64 ipis_before = __atomic_load_n(&cpu.reschedule_ipis, __ATOMIC_ACQUIRE);
    u64 ticks_before = __atomic_load_n(&cpu.ticks, __ATOMIC_ACQUIRE);
    u64 queued_at = x86::rdtsc();
    scheduler_enqueue_on(*thread.value(), target);
    EXPECT(wait_until(g_woken, 1, 2000));
    EXPECT(__atomic_load_n(&cpu.reschedule_ipis, __ATOMIC_ACQUIRE) > ipis_before);
    EXPECT_EQ(__atomic_load_n(&cpu.ticks, __ATOMIC_ACQUIRE), ticks_before);
    klog("selftest: parked CPU {} started queued work {} us after the IPI was sent", target,
        (g_woken_at - queued_at) * 1000 / tsc::ticks_per_ms().value());
    EXPECT(run_on(target, start_my_timer));
}

namespace {
u64 g_turns[2];
u64 g_yielders_done;
u64 g_out_of_turn;
u64 g_go;
constexpr u64 kTurns = 200;
void take_turns(u64 me)
{
    // Both must be queued before either counts: the test thread that
    // queues them may be held up between the two (a busy host), and the
    // first would then take many turns alone.
    while (!__atomic_load_n(&g_go, __ATOMIC_ACQUIRE))
        scheduler_yield();
    for (u64 i = 0; i < kTurns; ++i) {
        u64 mine = __atomic_add_fetch(&g_turns[me], 1, __ATOMIC_ACQ_REL);
        u64 theirs = __atomic_load_n(&g_turns[1 - me], __ATOMIC_ACQUIRE);
        // Strict alternation once both run: a yield that did not switch
        // would let one thread get two turns ahead.
        if (theirs > 0 && mine > theirs + 1)
            __atomic_add_fetch(&g_out_of_turn, 1, __ATOMIC_ACQ_REL);
        scheduler_yield();
    }
    __atomic_add_fetch(&g_yielders_done, 1, __ATOMIC_ACQ_REL);
    scheduler_exit_current();
}
} // namespace

HERALD_SELFTEST(two_threads_yield_to_each_other_on_one_cpu)
{
    usize target = processor_count() - 1;
    g_turns[0] = g_turns[1] = 0;
    g_yielders_done = 0;
    g_out_of_turn = 0;
    g_go = 0;
    for (u64 me = 0; me < 2; ++me) {
        Thread* thread = spawn("yielder", take_turns, me);
        EXPECT(thread != nullptr);
        if (thread)
            scheduler_enqueue_on(*thread, target);
    }
    __atomic_store_n(&g_go, 1, __ATOMIC_RELEASE);
    EXPECT(wait_until(g_yielders_done, 2, 5000));
    EXPECT_EQ(g_turns[0], kTurns);
    EXPECT_EQ(g_turns[1], kTurns);
    EXPECT_EQ(g_out_of_turn, 0u);
}

namespace {
u64 g_short_lived_done;
void exit_at_once(u64)
{
    __atomic_add_fetch(&g_short_lived_done, 1, __ATOMIC_ACQ_REL);
    scheduler_exit_current();
}
} // namespace

HERALD_SELFTEST(exited_threads_give_back_what_they_held)
{
    EXPECT(selftest::eventually([] { return threads_ending() == 0; }, 5000)); // earlier tests' threads reaped
    usize baseline = threads_in_use();
    constexpr u64 kRounds = 200;
    g_short_lived_done = 0;
    for (u64 i = 0; i < kRounds; ++i) {
        Thread* thread = spawn("short-lived", exit_at_once, 0);
        EXPECT(thread != nullptr);
        if (thread)
            scheduler_enqueue(*thread);
        if (i % 16 == 15)
            scheduler_sleep_ms(kTickMs);
    }
    EXPECT(wait_until(g_short_lived_done, kRounds, 5000));
    // The last ones are reaped after their CPU has switched away from them.
    EXPECT(selftest::eventually([] { return threads_ending() == 0; }, 5000));
    EXPECT_EQ(threads_in_use(), baseline);
}

// ---- deliberate fault: a kernel thread runs off the bottom of its stack ----
namespace {
[[gnu::noinline]] u64 recurse_in_thread(u64 depth)
{
    volatile u8 frame[512];
    frame[0] = static_cast<u8>(depth);
    if (depth == ~0ull) // never true; keeps the compiler from calling this an infinite loop
        return frame[0];
    return recurse_in_thread(depth + 1) + frame[0];
}
void overflow_my_stack(u64) { (void)recurse_in_thread(0); }
} // namespace

// The guard below a thread's kernel stack turns the overflow into #DF, which
// runs on its IST stack and reports, naming the thread.
HERALD_SELFTEST(fault_kernel_thread_stack_overflow)
{
    Thread* thread = spawn("overflow", overflow_my_stack, 0);
    EXPECT(thread != nullptr);
    if (thread)
        scheduler_enqueue(*thread);
    scheduler_sleep_ms(10'000); // the panic ends the run long before
}
