// Starting the embedded test programs and waiting for them, for the
// in-system tests that run ring-3 code.
#pragma once

#include "microkernel/boot/boot_archive.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/task/program_loader.hpp"
#include "microkernel/task/task.hpp"
#include "selftest.hpp"

namespace herald::selftest {

// The new task's id, or 0 (and a failed expectation) if it did not start.
inline u64 spawn(const char* name, SpawnOptions options = {})
{
    auto program = find_boot_program(name);
    EXPECT(!program.is_error());
    if (program.is_error())
        return 0;
    auto task = spawn_program(name, program.value(), options);
    EXPECT(!task.is_error());
    return task.is_error() ? 0 : task.value();
}

inline u64 spawn_with(const char* name, u64 parameter)
{
    SpawnOptions options;
    options.parameter = parameter;
    return spawn(name, options);
}

// Polls the exit records once a tick; nullopt if the task is still running
// after `timeout_ms`.
inline Optional<TaskExit> wait_for_exit(u64 task_id, u64 timeout_ms = 5000)
{
    for (u64 waited = 0; waited <= timeout_ms; waited += kTickMs) {
        if (auto exit = find_exit(task_id))
            return exit;
        scheduler_sleep_ms(kTickMs);
    }
    return nullopt;
}

// Runs `name` to its end; its exit status, or `on_failure` if it did not
// start, was killed or did not end in time (each a failed expectation).
inline i64 run_to_exit(const char* name, u64 parameter, i64 on_failure = -9999, u64 timeout_ms = 60'000)
{
    u64 task = spawn_with(name, parameter);
    if (!task)
        return on_failure;
    auto exit = wait_for_exit(task, timeout_ms);
    EXPECT(exit.has_value());
    if (!exit)
        return on_failure;
    EXPECT(!exit->killed);
    return exit->killed ? on_failure : exit->status;
}

} // namespace herald::selftest
