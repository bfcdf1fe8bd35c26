// spawn_storm: starts `count` (the argument) chatter programs through the
// loader, as many at once as the loader lets one client have
// (ipc::loader::kMaxTasksPerClient, docs/security.md "Quotas"), so that they
// run and print on every CPU together: before starting one beyond that, it
// waits for the one started that many before. Exits with the number that
// failed to start or did not exit with status 0.
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "user/runtime/herald.hpp"

namespace {
constexpr uint64_t kMaxCount = 512;
constexpr int64_t kReported = 5; // failures described one by one
ipc::Handle g_tasks[kMaxCount];

// Waits for chatter `i` (if it started); false if it ended badly.
bool reap(uint64_t i, int64_t failures_so_far)
{
    if (g_tasks[i] == herald::abi::HandleNone)
        return true;
    auto status = ipc::loader::wait(g_tasks[i]);
    (void)ipc::sys::handle_close(g_tasks[i]);
    g_tasks[i] = herald::abi::HandleNone;
    bool failed = status.is_error() || status.value().state != herald::abi::TaskState::Exited || status.value().exit_status != 0;
    if (failed && failures_so_far < kReported)
        herald::user::println("spawn_storm: chatter {} ended badly: {} state {} status {}", i,
            status.is_error() ? ipc::error_name(status.error()) : "-", status.is_error() ? 0 : static_cast<int>(status.value().state),
            status.is_error() ? 0 : status.value().exit_status);
    return !failed;
}
}

extern "C" int64_t herald_main(uint64_t count)
{
    if (count > kMaxCount)
        count = kMaxCount;
    ipc::Handle loader = herald::user::find_server("loader");
    if (loader == herald::abi::HandleNone)
        return static_cast<int64_t>(count);
    int64_t failures = 0;
    constexpr uint64_t kInFlight = ipc::loader::kMaxTasksPerClient;
    for (uint64_t i = 0; i < count; ++i) {
        if (i >= kInFlight)
            failures += !reap(i - kInFlight, failures);
        auto started = ipc::loader::spawn(herald::user::ipc(), loader, "chatter", i);
        g_tasks[i] = started.is_error() ? herald::abi::HandleNone : started.value().task;
        if (started.is_error() && failures++ < kReported)
            herald::user::println("spawn_storm: chatter {} did not start: {}", i, ipc::loader::error_text(started.error()));
    }
    for (uint64_t i = count > kInFlight ? count - kInFlight : 0; i < count; ++i)
        failures += !reap(i, failures);
    herald::user::println("spawn_storm: {} programs, {} failed", count, failures);
    return failures;
}
