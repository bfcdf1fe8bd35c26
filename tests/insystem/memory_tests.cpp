// Self-tests of the pager (docs/memory.md): heap and stack paged on demand,
// the guard page, reclamation of everything a task held, running out of
// memory. The same cases run against the memory server (herald-test) and
// against the memory service in ring 0 (herald-test-monolithic).
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/ipc/ipc.hpp"
#include "microkernel/log.hpp"
#include "microkernel/object/endpoint.hpp"
#include "microkernel/object/memory_control.hpp"
#include "microkernel/pager/managed_memory.hpp"
#include "microkernel/pager/pager.hpp"
#include "microkernel/stats/event_counters.hpp"
#include "programs.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

constexpr u64 kPage = abi::kPageSize;

// memory_touch's parameter: heap pages, stack pages.
constexpr u64 touch(u64 heap_bytes, u64 stack_bytes) { return (stack_bytes / kPage) << 32 | heap_bytes / kPage; }

// From the memory service itself, through a program (the server's
// statistics live in ring 3).
i64 free_frames() { return run_to_exit("memory_free_frames", 0); }
i64 tasks_with_records() { return run_to_exit("memory_free_frames", 1); }
i64 committed_frames() { return run_to_exit("memory_free_frames", 2); }

// Calls `visit` with every task in the table, in batches of list_tasks.
template<typename Visit>
void for_each_listed_task(Visit visit)
{
    abi::TaskListEntry entries[16];
    usize next = 0;
    for (usize from = 0;; from = next) {
        usize count = list_tasks(from, entries, 16, next);
        if (count == 0)
            return;
        for (usize i = 0; i < count; ++i)
            visit(entries[i]);
    }
}

// For a failure's report: what the memory service holds and which tasks
// are alive.
void log_memory_picture(const char* why)
{
    klog("selftest: {}: {} frames free, {} promised to heaps, {} task records", why, free_frames(), committed_frames(),
        tasks_with_records());
    for_each_listed_task([](const abi::TaskListEntry& task) {
        klog("selftest:   task {} \"{}\" state {}", task.task_id, task.name, static_cast<u64>(task.state));
    });
}

// The status of a task killed by a page fault (task/user_faults.cpp).
constexpr i64 kKilledByPageFault = -1000 - 14;

} // namespace

// 56 MiB: within a task's frame limit, half the frames free at boot (64
// MiB with the self-tests' 256 MiB, docs/security.md "Quotas").
HERALD_SELFTEST(memory_heap_and_stack_are_paged_on_demand)
{
    klog("selftest: pager in the {}", pager_mode_name());
    i64 before = free_frames();
    EXPECT(before > 0);
    EXPECT_EQ(run_to_exit("memory_touch", touch(48 * MiB, 8 * MiB)), 0);
    EXPECT_EQ(free_frames(), before);
}

// A fault reaches the memory server by the kernel's Call on its fast path
// (ipc/fastpath.cpp) when the server's thread for the faulting CPU waits
// on the endpoint, as it does between faults: the faults of one task add
// no message on the full path (its start, Grow and exit add a few). The
// fault's answer comes back on the reply's fast path either way.
HERALD_SELFTEST(memory_faults_reach_the_server_on_the_kernels_fast_path)
{
    constexpr u64 kPages = 256;
    auto delta = [](const u64* after, const u64* before, Event event) {
        return after[static_cast<usize>(event)] - before[static_cast<usize>(event)];
    };
    EventCounters before = event_counters_sum();
    EXPECT_EQ(run_to_exit("memory_touch", touch(kPages * kPage, 0)), 0);
    EventCounters after = event_counters_sum();
    u64 faults = delta(after.values, before.values, Event::FaultsPager);
    u64 full = delta(after.values, before.values, Event::IpcFull);
    klog("selftest: {} faults sent to the pager, {} messages on the fast paths, {} on the full path", faults,
        delta(after.values, before.values, Event::IpcFast), full);
    if (pager_in_kernel())
        return; // no Call: the fault is a function call in ring 0
    EXPECT(faults >= kPages);
    EXPECT(full < kPages / 2);
}

// A task killed while its faults are in flight (waiting for the server, or
// being served) ends, and every frame comes back: kills at several moments
// of a run that does little but fault. Each kill waits until the run's
// faults have begun (the system's fault counters moved by kFaultsBeforeKill
// since its spawn: more than its start takes, memory_touch's loop is under
// way; the other tasks stand still meanwhile), so a kill that lands before
// the first fault, and proves nothing, cannot pass for one. A run killed
// in the middle ends as killed (kKilledStatus), not as its fault's victim.
namespace {

constexpr u64 kFaultsBeforeKill = 64;
constexpr u64 kFaultsBeganTimeoutMs = 30'000;

// User page faults served so far, by a memory server or in ring 0.
u64 faults_served()
{
    EventCounters counters = event_counters_sum();
    return counters.values[static_cast<usize>(Event::FaultsPager)]
        + counters.values[static_cast<usize>(Event::FaultsKernel)];
}

// Waits (yielding: at -smp 1 the run needs this CPU) until `faults` more
// than `from` were served, or `task` ended, or the time is up; the faults
// served since `from`.
u64 wait_for_faults(u64 task, u64 from, u64 faults)
{
    u64 until = x86::rdtsc() + kFaultsBeganTimeoutMs * tsc::ticks_per_ms().value();
    while (faults_served() - from < faults && x86::rdtsc() < until && !find_exit(task))
        scheduler_yield();
    return faults_served() - from;
}

// The free frames once they are back to `expected`, or after
// kFramesSettleMs: a kill can land while a server thread holds a frame for
// the victim's fault (taken and being zeroed: the kill takes the reply right
// back, the thread's MemoryMapReply then finds no call, NoReply, and the
// thread frees the frame), a moment after the task's exit, not before it.
// A frame that never comes back still fails the check; a wait that was
// needed is logged, so that lateness growing over time shows.
constexpr u64 kFramesSettleMs = 2'000;
i64 free_frames_settled(i64 expected)
{
    i64 now = free_frames();
    u64 waited = 0;
    for (; now != expected && waited < kFramesSettleMs; waited += kTickMs) {
        scheduler_sleep_ms(kTickMs);
        now = free_frames();
    }
    if (waited)
        klog("selftest: the free frames took {} ms to come back ({} of {})", waited, now, expected);
    return now;
}

} // namespace

HERALD_SELFTEST(memory_a_task_killed_while_it_faults_ends_cleanly)
{
    i64 before = free_frames();
    constexpr u64 kDelaysMs[] = { 0, 10, 20, 30, 50, 80 };
    usize killed = 0;
    for (u64 delay : kDelaysMs) {
        u64 at_spawn = faults_served();
        u64 task = spawn_with("memory_touch", touch(32 * MiB, 0));
        if (!task)
            continue;
        u64 began = wait_for_faults(task, at_spawn, kFaultsBeforeKill);
        if (delay)
            scheduler_sleep_ms(delay);
        u64 before_kill = faults_served() - at_spawn;
        bool found = kill_task(task);
        auto exit = wait_for_exit(task, 30'000);
        EXPECT(exit.has_value());
        bool killed_here = found && exit && exit->killed;
        klog("selftest: delay {} ms: {} faults before the kill{}", delay, before_kill,
            killed_here ? "" : " (the run ended first)");
        EXPECT(began >= kFaultsBeforeKill); // the faults had begun when the kill came
        if (killed_here)
            EXPECT_EQ(exit->status, abi::kKilledStatus); // the kill's end, not a fault's
        killed += killed_here;
    }
    klog("selftest: {} of {} runs killed after their faults began", killed, sizeof(kDelaysMs) / sizeof(kDelaysMs[0]));
    EXPECT(killed > 0); // most runs: a run that ended before its kill proves nothing, and is not a failure
    EXPECT_EQ(free_frames_settled(before), before);
}

HERALD_SELFTEST(memory_protocol_answers)
{
    EXPECT_EQ(run_to_exit("memory_protocol_checks", 0), 0);
}

HERALD_SELFTEST(memory_runaway_recursion_dies_at_the_guard_page)
{
    i64 before = free_frames();
    if (before < static_cast<i64>(abi::kUserStackRegionSize / kPage))
        log_memory_picture("too few frames for a whole stack");
    u64 task = spawn("stack_overflow");
    auto exit = wait_for_exit(task, 60'000);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(exit->killed);
        EXPECT_EQ(exit->status, kKilledByPageFault);
    }
    EXPECT_EQ(free_frames(), before); // 20 MiB of stack came back
}

// 1,000 tasks that each take heap and stack and end: not a frame and not a
// task record may stay behind. Started in batches, so that the test does
// not wait a tick for each one.
HERALD_SELFTEST(memory_create_touch_exit_cycles_return_every_frame)
{
    constexpr int kCycles = 1000;
    constexpr int kBatch = 20;
    i64 free_before = free_frames();
    i64 records_before = tasks_with_records();
    int clean_exits = 0;
    for (int done = 0; done < kCycles; done += kBatch) {
        u64 tasks[kBatch] = {};
        for (int i = 0; i < kBatch; ++i)
            tasks[i] = spawn_with("memory_touch", touch(4 * kPage, 16 * kPage));
        for (u64 task : tasks) {
            auto exit = task ? wait_for_exit(task, 60'000) : nullopt;
            clean_exits += exit && !exit->killed && exit->status == 0;
        }
    }
    EXPECT_EQ(clean_exits, kCycles);
    EXPECT_EQ(free_frames(), free_before);
    EXPECT_EQ(tasks_with_records(), records_before);
}

// Whether `task` holds what it took: its thread sleeps (memory_hog and
// hostile_quota never end by themselves). False if it ended or never got
// there within two minutes.
bool holding(u64 task, const char* name)
{
    for (u64 waited = 0; task && waited < 120'000; waited += kTickMs) {
        scheduler_sleep_ms(kTickMs);
        if (auto exit = find_exit(task)) {
            klog("selftest: {} ended early: status {}{}", name, exit->status, exit->killed ? " (killed)" : "");
            log_memory_picture("after the hog's end");
            return false;
        }
        auto thread = main_thread_snapshot(task);
        if (thread && thread->state == ThreadState::Sleeping)
            return true;
    }
    return false;
}

// Hogs take every frame: Grow then says kOutOfMemory (memory_hog checks
// that; each hog may take only its share, docs/security.md "Quotas", so it
// takes more than one), a stack that needs one more page is killed, a heap
// request is refused, and when the hogs die every frame comes back. A hog
// holds its frames as a promise (Grow commits them) and touches only a
// sample: every free frame is promised, none is left over.
HERALD_SELFTEST(memory_out_of_memory_is_an_error_then_a_clean_kill)
{
    constexpr int kMaxHogs = 4;
    i64 before = free_frames();
    u64 hogs[kMaxHogs] = {};
    int started = 0;
    while (started < kMaxHogs && free_frames() != committed_frames()) {
        hogs[started] = spawn("memory_hog");
        EXPECT(holding(hogs[started], "memory_hog"));
        ++started;
    }
    EXPECT(started > 1); // one alone cannot take everything
    EXPECT_EQ(free_frames(), committed_frames());

    u64 grower = spawn_with("memory_touch", touch(0, 64 * kPage));
    auto exit = wait_for_exit(grower, 60'000);
    EXPECT(exit.has_value() && exit->killed && exit->status == kKilledByPageFault);
    EXPECT_EQ(run_to_exit("memory_touch", touch(kPage, 0)), 1); // Grow refused

    for (int i = 0; i < started; ++i) {
        EXPECT(kill_task(hogs[i]));
        EXPECT(wait_for_exit(hogs[i], 60'000).has_value());
    }
    EXPECT_EQ(free_frames(), before);
    EXPECT_EQ(run_to_exit("memory_touch", touch(kPage, 64 * kPage)), 0); // all is well again
}

// MemoryMapReply refuses every bad argument with its error and leaves the
// reply right where it was (docs/syscalls.md, "MemoryMapReply"):
// map_reply_checks holds a MemoryControl and an endpoint, as the memory
// server does, and this case Calls it from the kernel (a kernel thread's Call,
// where a page fault is sent in the faulting user thread's name). Its answer arriving proves that no refusal used the right up; its
// status counts the answers that were not the expected error. (That the
// call maps, answers and receives: every fault of the other cases, served by
// the memory server through it.) Then, in its status too, a user caller
// whose page a sibling thread mapped first: the map answers Occupied
// (BadArgument in the outcome word), the right stays, the program answers
// Resolved and the caller finds the page. The same in every placement: the
// system call is the kernel's.
HERALD_SELFTEST(memory_map_reply_refuses_bad_arguments)
{
    constexpr u64 kEndpoint = 8, kControl = 9, kEndpointSend = 10; // map_reply_checks.cpp's
    constexpr u32 kDoneLabel = 0x4D52'4344;
    Ref<Endpoint> endpoint = Endpoint::create();
    EXPECT(endpoint.ptr() != nullptr);
    if (!endpoint)
        return;
    SpawnOptions options;
    options.parameter = managed_ranges()[0].base.get(); // a managed frame: past the frame check
    options.handles[0] = InitialHandle { endpoint.ptr(), abi::RightReceive, 0, kEndpoint };
    options.handles[1] = InitialHandle { &memory_control(), abi::RightSend, 0, kControl };
    options.handles[2] = InitialHandle { endpoint.ptr(), abi::RightSend, 0, kEndpointSend };
    u64 task = spawn("map_reply_checks", options);
    if (!task)
        return;
    IpcMessage request { abi::MessageInfo { abi::kPageFaultLabel, 0, false }.encode(), { task, abi::kUserHeapBase, 0 },
        abi::kKernelBadge };
    IpcMessage reply;
    auto status = ipc_call_from_kernel(current_thread(), *endpoint, request, reply);
    EXPECT(!status.is_error());
    EXPECT_EQ(abi::MessageInfo::decode(reply.info).label, kDoneLabel);
    EXPECT_EQ(reply.words[0], 0u);
    auto exit = wait_for_exit(task, 60'000);
    EXPECT(exit.has_value() && !exit->killed);
    EXPECT_EQ(exit ? exit->status : -1, 0);
    if (!exit) { // stuck (a caller never answered, say): it must not outlive the test
        EXPECT(kill_task(task));
        EXPECT(wait_for_exit(task, 60'000).has_value());
    }
}

// Run alone (qemu-selftest-memory-server-ends): the memory server ends. The
// kernel says so once; from then on a task that needs a page is killed with
// a clear reason, Grow fails, and a task that needs no new page still runs.
HERALD_SELFTEST(alone_memory_server_ends)
{
    if (pager_in_kernel())
        return skip("the memory service is built into the kernel: there is no memory server to end");
    u64 server = 0;
    for_each_listed_task([&](const abi::TaskListEntry& task) {
        if (!server && StringView(task.name) == "memory")
            server = task.task_id;
    });
    EXPECT(server != 0);
    if (!server)
        return;
    EXPECT(kill_task(server));
    EXPECT(wait_for_exit(server, 60'000).has_value());

    u64 grower = spawn_with("memory_touch", touch(0, 64 * kPage));
    auto exit = wait_for_exit(grower, 60'000);
    EXPECT(exit.has_value() && exit->killed && exit->status == kKilledByPageFault);
    i64 grow = run_to_exit("memory_touch", touch(kPage, 0));
    EXPECT_EQ(grow, 1); // Grow refused: memory_touch says so and ends
    EXPECT_EQ(run_to_exit("hello", 0), 0);
}
