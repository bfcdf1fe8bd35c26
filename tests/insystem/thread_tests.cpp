// Self-tests of threads in a task (docs/syscalls.md, "Threads"), through the
// ring-3 program `threads` (user/programs/threads.cpp): its checks of bad
// arguments, joins and thread-local storage; threads on every CPU doing IPC
// and page faults at once; a task whose threads wait in every way there is,
// killed from outside, ended by one thread's fault, or by one thread's Exit;
// and a main thread that ends before the others.
#include "microkernel/abi/task.hpp"
#include "microkernel/pager/pager.hpp"
#include "microkernel/smp/processor.hpp"
#include "microkernel/stats/event_counters.hpp"
#include "programs.hpp"
#include "user/runtime/thread.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

// The program's modes (user/programs/threads.cpp).
constexpr u64 kChecks = 1;
constexpr u64 kIpcAndFaults = 2;
constexpr u64 kBlockForever = 3;
constexpr u64 kFaultWhileBlocked = 4;
constexpr u64 kExitWhileBlocked = 5;
constexpr u64 kMainExitsFirst = 6;
constexpr u64 kStaleTlb = 7;
constexpr u64 kReleaseWhileFaulting = 8;
constexpr u64 kStackOverflow = 9;
constexpr u64 kThreadLocalVariables = 10;
// kBlockForever's threads: the main thread, 5 waits, a sleeper, its joiner, a spinner.
constexpr u64 kBlockingThreads = 9;
constexpr u64 kPageFaultVector = 14;

// The first listed task named `name` (the memory server: "memory").
Optional<abi::TaskListEntry> listed_task(StringView name)
{
    abi::TaskListEntry entries[16];
    usize from = 0;
    for (;;) {
        usize next = 0;
        usize count = list_tasks(from, entries, 16, next);
        for (usize i = 0; i < count; ++i) {
            if (StringView::from_bounded(entries[i].name, sizeof(entries[i].name)) == name)
                return entries[i];
        }
        if (count == 0 || next >= kMaxTasks)
            return nullopt;
        from = next;
    }
}

// The task's live threads, as TaskList shows them (0: not in the table).
u64 threads_of(u64 task_id)
{
    abi::TaskListEntry entries[16];
    usize from = 0;
    for (;;) {
        usize next = 0;
        usize count = list_tasks(from, entries, 16, next);
        for (usize i = 0; i < count; ++i) {
            if (entries[i].task_id == task_id)
                return entries[i].threads;
        }
        if (count == 0 || next >= kMaxTasks)
            return 0;
        from = next;
    }
}

// Every thread a test made has been given back.
void expect_threads_back_to(usize before)
{
    EXPECT(eventually([&] { return threads_ending() == 0 && threads_in_use() == before; }, 5000));
    EXPECT_EQ(threads_in_use(), before);
}

// Starts `threads` in `mode`, waits until all its threads exist and its main
// thread waits (then a little more, for the others to reach their waits).
u64 start_blocked(u64 mode)
{
    u64 task = spawn_with("threads", mode);
    if (!task)
        return 0;
    u64 expected = kBlockingThreads + (mode == kBlockForever ? 0 : 1);
    bool ready = eventually([&] {
        auto main = main_thread_snapshot(task);
        return threads_of(task) >= expected && main && main->state == ThreadState::Blocked;
    }, 10'000);
    EXPECT(ready || find_exit(task).has_value()); // the Exit and fault modes may end first
    scheduler_sleep_ms(50);
    return task;
}

} // namespace

HERALD_SELFTEST(threads_get_errors_for_bad_arguments_and_join_returns_values)
{
    usize before = threads_in_use();
    EXPECT_EQ(run_to_exit("threads", kChecks), 0);
    expect_threads_back_to(before);
}

HERALD_SELFTEST(threads_on_every_cpu_do_ipc_and_page_faults_at_once)
{
    usize before = threads_in_use();
    u64 threads = processor_count() < 2 ? 2 : processor_count();
    EXPECT_EQ(run_to_exit("threads", kIpcAndFaults | threads << 8), 0);
    expect_threads_back_to(before);
    // A Release racing faults in flight on every CPU (the server's Release
    // waits for them): no foreign data in a page, and every frame back
    // once the task ended.
    i64 free_before = run_to_exit("memory_free_frames", 0);
    EXPECT_EQ(run_to_exit("threads", kReleaseWhileFaulting | threads << 8), 0);
    EXPECT_EQ(run_to_exit("memory_free_frames", 0), free_before);
    expect_threads_back_to(before);
}

HERALD_SELFTEST(killing_a_task_ends_its_threads_wherever_they_wait_or_run)
{
    usize before = threads_in_use();
    u64 task = start_blocked(kBlockForever);
    EXPECT(task != 0);
    EXPECT_EQ(threads_of(task), kBlockingThreads);
    EXPECT(kill_task(task));
    auto exit = wait_for_exit(task, 5000);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(exit->killed);
        EXPECT_EQ(exit->status, abi::kKilledStatus);
    }
    expect_threads_back_to(before);
}

HERALD_SELFTEST(a_fault_in_one_thread_kills_the_task_with_all_its_threads)
{
    usize before = threads_in_use();
    u64 task = start_blocked(kFaultWhileBlocked);
    auto exit = wait_for_exit(task, 5000);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(exit->killed);
        EXPECT_EQ(exit->status, abi::fault_status(kPageFaultVector));
    }
    expect_threads_back_to(before);
}

// A thread that recurses without end faults on the guard page below its
// own stack slot (user/runtime/thread.hpp) and the task is killed, every
// thread with it, saying "stack overflow in thread N (guard page)". Without
// the guard it would run on through its sibling's stack (slot 0, just
// below) and fault only at the region's guard, abi::kStackGuardPage.
HERALD_SELFTEST(a_thread_that_overflows_its_stack_is_killed_at_its_own_guard_page)
{
    usize before = threads_in_use();
    i64 free_before = run_to_exit("memory_free_frames", 0);
    u64 task = spawn_with("threads", kStackOverflow);
    auto exit = wait_for_exit(task, 10'000);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(exit->killed);
        EXPECT_EQ(exit->status, abi::fault_status(kPageFaultVector));
        EXPECT(exit->overflowed_thread != 0);
        u64 guard_of_slot_1 = user::kStackSlotsBase + user::kStackSlotBytes;
        EXPECT_EQ(exit->fault_address & ~(abi::kPageSize - 1), guard_of_slot_1);
    }
    expect_threads_back_to(before);
    EXPECT_EQ(run_to_exit("memory_free_frames", 0), free_before); // the slots' stack pages came back
}

// ELF thread-local storage: the loader takes a program with a PT_TLS
// segment (it used to refuse one), and each thread, the main one too, has
// its own copy of the template (user/runtime/thread.cpp).
HERALD_SELFTEST(each_thread_has_its_own_thread_local_variables)
{
    usize before = threads_in_use();
    u64 threads = processor_count() < 2 ? 4 : 2 * processor_count();
    EXPECT_EQ(run_to_exit("threads", kThreadLocalVariables | threads << 8), 0);
    expect_threads_back_to(before);
}

// tls_small's variables are 20 bytes, 4-byte aligned: the block below the
// thread pointer must be rounded to the segment's alignment (20), not to
// the thread pointer's (32), or .tdata lands 12 bytes off.
HERALD_SELFTEST(thread_local_variables_aligned_below_16_read_their_initial_values)
{
    usize before = threads_in_use();
    EXPECT_EQ(run_to_exit("tls_small", 0), 0);
    expect_threads_back_to(before);
}

HERALD_SELFTEST(exit_in_one_thread_ends_the_task_with_all_its_threads)
{
    usize before = threads_in_use();
    u64 task = start_blocked(kExitWhileBlocked);
    auto exit = wait_for_exit(task, 5000);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(!exit->killed);
        EXPECT_EQ(exit->status, 5);
    }
    expect_threads_back_to(before);
}

HERALD_SELFTEST(the_last_thread_to_end_gives_the_task_its_status)
{
    usize before = threads_in_use();
    EXPECT_EQ(run_to_exit("threads", kMainExitsFirst), 7);
    expect_threads_back_to(before);
}

// TLB shootdown (docs/memory.md): a thread reads a page in a loop on a CPU
// other than the memory server's, while another, on the server's CPU, has
// the server release it (so the server's MemoryUnmap must reach the reader's
// CPU, not only its own). Without
// the shootdown the reader goes on reading the freed frame through its TLB
// (the test image booted with tlb_shootdown=off shows it: qemu-selftest-
// stale-tlb-caught). Meaningful with 2 CPUs or more; with one, the switches
// between the threads reload CR3 anyway.
HERALD_SELFTEST(an_unmapped_page_is_dropped_from_the_tlbs_of_other_cpus)
{
    usize before = threads_in_use();
    EventCounters events_before = event_counters_sum();
    // In ring 0 the service unmaps in the releasing thread, on its CPU: 0.
    auto server = listed_task("memory");
    EXPECT(server.has_value() || pager_in_kernel());
    u64 server_cpu = server ? server->cpu : 0;
    // The reader's CPU must keep its TLB entry: not the server's CPU, and,
    // given three CPUs or more, not this thread's either (its wake-ups
    // switch to the kernel's address space there, which flushes the entry:
    // the stale-TLB-caught test runs at -smp 4 so).
    u64 test_cpu = this_processor().index;
    u64 reader_cpu = (server_cpu + 1) % processor_count();
    while (processor_count() >= 3 && (reader_cpu == server_cpu || reader_cpu == test_cpu))
        reader_cpu = (reader_cpu + 1) % processor_count();
    EXPECT_EQ(run_to_exit("threads", kStaleTlb | reader_cpu << 8 | server_cpu << 16), 0);
    EventCounters events_after = event_counters_sum();
    u64 ipis = events_after.values[static_cast<usize>(Event::ShootdownIpis)]
        - events_before.values[static_cast<usize>(Event::ShootdownIpis)];
    // The reader's CPU was asked, unless the server moved there meanwhile
    // (an idle CPU may steal it while it waits in a run queue): then the
    // switch to the server dropped the reader's entries.
    auto server_after = listed_task("memory");
    if (processor_count() > 1 && (pager_in_kernel() || (server_after && server_after->cpu != reader_cpu)))
        EXPECT(ipis >= 1);
    expect_threads_back_to(before);
}
