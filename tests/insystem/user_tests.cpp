// Self-tests of ring 3: programs from tests/../user/programs run in their own
// address spaces; faults kill only the faulting task; bad system-call
// arguments get error codes; busy user tasks keep their CPUs; what a task
// held comes back when it ends.
#include "microkernel/mm/address_space.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/smp/processor.hpp"
#include "microkernel/task/program_loader.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/object/process_control.hpp"
#include "microkernel/object/system_control.hpp"
#include "microkernel/task/task.hpp"
#include "microkernel/object/task_object.hpp"
#include "programs.hpp"
#include "selftest.hpp"

using namespace herald;

namespace {

using herald::selftest::spawn;
using herald::selftest::wait_for_exit;

void kill(u64 task_id) { EXPECT(kill_task(task_id)); }

} // namespace

HERALD_SELFTEST(hello_runs_in_ring_3_and_exits)
{
    EXPECT_EQ(herald::selftest::run_to_exit("hello", 0), 0); // started, not killed, in time, status 0
}

HERALD_SELFTEST(each_user_fault_kills_only_its_task)
{
    u64 canary_id = spawn("spin");
    EXPECT(canary_id != 0);
    if (!canary_id)
        return;
    struct Case {
        const char* program;
        u64 vector;
    };
    // The status of a killed task is -1000 - vector (task/user_faults.cpp).
    const Case cases[] = { { "fault_gp", 13 }, { "fault_ud", 6 }, { "fault_de", 0 }, { "fault_pf", 14 },
        { "fault_kernel_read", 14 }, { "fault_hlt", 13 } };
    for (const Case& c : cases) {
        u64 task = spawn(c.program);
        EXPECT(task != 0);
        if (!task)
            continue;
        auto exit = wait_for_exit(task);
        EXPECT(exit.has_value());
        if (exit) {
            EXPECT(exit->killed);
            EXPECT_EQ(exit->status, -1000 - static_cast<i64>(c.vector));
        }
    }
    // The rest keeps running: the canary is alive and still gets CPU time.
    EXPECT(!find_exit(canary_id).has_value());
    auto canary = main_thread_snapshot(canary_id);
    EXPECT(canary.has_value());
    if (canary) {
        u64 before = canary->runtime_ticks;
        EXPECT(selftest::eventually([&] {
            auto now = main_thread_snapshot(canary_id);
            return now && now->runtime_ticks > before;
        }, 5000));
    }
    kill(canary_id);
    auto exit = wait_for_exit(canary_id);
    EXPECT(exit.has_value() && exit->killed);
}

HERALD_SELFTEST(bad_system_call_arguments_get_error_codes)
{
    // The status is the number of answers that were not the expected error
    // (it also sends pointers into unmapped user memory: the copy asks the
    // pager, which refuses, and the fixup turns the fault into BadAddress).
    // It holds SystemControl with RightReceive (TaskList) and nothing more.
    SpawnOptions options;
    options.handles[0] = InitialHandle { &system_control(), abi::RightReceive, 0, abi::kTaskListHandle };
    u64 task = spawn("syscall_garbage", options);
    auto exit = wait_for_exit(task, 60'000);
    EXPECT(exit.has_value() && !exit->killed);
    EXPECT_EQ(exit ? exit->status : -1, 0);
}

// TaskCreate takes any bytes for a name (from the ProcessControl holder);
// the log prints names, so control characters and quotes become '?'.
HERALD_SELFTEST(task_names_are_sanitized_before_they_reach_the_log)
{
    const char raw[] = "evil\n\"name\x1b[";
    auto object = process_control().create_task(StringView(raw, sizeof(raw) - 1));
    EXPECT(!object.is_error());
    if (object.is_error())
        return;
    u64 id = object.value()->task_id();
    bool found = false;
    abi::TaskListEntry entries[16];
    for (usize from = 0, next = 0;; from = next) {
        usize count = list_tasks(from, entries, 16, next);
        if (count == 0)
            break;
        for (usize i = 0; i < count; ++i) {
            if (entries[i].task_id != id)
                continue;
            found = true;
            EXPECT(StringView::from_bounded(entries[i].name, sizeof(entries[i].name)) == StringView("evil??name??"));
        }
    }
    EXPECT(found); // never started: it goes with `object`, its last reference
}

HERALD_SELFTEST(busy_user_tasks_keep_their_cpus)
{
    usize n = processor_count();
    u64 tasks[x86::kMaxCpus] = {};
    bool all_started = true;
    for (usize i = 0; i < n; ++i) {
        tasks[i] = spawn("spin");
        all_started = all_started && tasks[i] != 0;
    }
    EXPECT(all_started);
    if (!all_started) { // (task id 0 is the kernel's, which has no main thread)
        for (usize i = 0; i < n; ++i) {
            if (tasks[i])
                kill(tasks[i]);
        }
        return;
    }
    // As for kernel threads (sched_tests.cpp): once settled, every task on a
    // CPU of its own, no task moves.
    auto distinct_cpus = [&] {
        bool used[x86::kMaxCpus] = {};
        for (usize i = 0; i < n; ++i) {
            auto thread = main_thread_snapshot(tasks[i]);
            if (!thread || !thread->has_run || used[thread->cpu])
                return false;
            used[thread->cpu] = true;
        }
        return true;
    };
    EXPECT(selftest::eventually(distinct_cpus, 5000));
    scheduler_sleep_ms(2 * kTickMs);
    u64 settled[x86::kMaxCpus] = {};
    for (usize i = 0; i < n; ++i) {
        auto thread = main_thread_snapshot(tasks[i]);
        settled[i] = thread ? thread->migrations : 0;
    }
    scheduler_sleep_ms(300);
    bool cpu_used[x86::kMaxCpus] = {};
    for (usize i = 0; i < n; ++i) {
        auto thread = main_thread_snapshot(tasks[i]);
        EXPECT(thread.has_value());
        if (!thread)
            continue;
        EXPECT(thread->has_run);
        EXPECT_EQ(thread->migrations - settled[i], 0u);
        EXPECT(thread->migrations <= 1u); // at most one correction of the first placement
        EXPECT(!cpu_used[thread->cpu]);
        cpu_used[thread->cpu] = true;
    }
    for (usize i = 0; i < n; ++i) {
        kill(tasks[i]);
        EXPECT(wait_for_exit(tasks[i]).has_value());
    }
}

HERALD_SELFTEST(ended_tasks_give_back_their_memory)
{
    EXPECT(selftest::eventually([] { return threads_ending() == 0; }, 5000)); // earlier tests' tasks reaped
    usize frames = user_frames_in_use();
    usize threads = threads_in_use();
    for (int i = 0; i < 20; ++i) {
        u64 task = spawn(i % 2 ? "hello" : "fault_pf");
        if (task)
            EXPECT(wait_for_exit(task).has_value());
    }
    // The last one is reaped after its CPU has switched away from it.
    EXPECT(selftest::eventually([] { return threads_ending() == 0; }, 5000));
    EXPECT_EQ(user_frames_in_use(), frames);
    EXPECT_EQ(threads_in_use(), threads);
}
