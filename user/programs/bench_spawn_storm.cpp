// bench_spawn_storm: starts `count` (the parameter's low 16 bits)
// bench_storm_child programs (exit_at_once with kSmallestChild set: the
// loader's own work, for spawn_clients) through the loader, keeping at most
// kOutstanding running at once (so that the heaps they grow fit in the
// memory of a small guest), and waits for each. The window (bench_common.hpp)
// covers the whole storm; the runner reports ticks per program. Exits with
// the number that failed to start or did not exit with status 0 (negated
// with kSmallestChild); -1 if there is no loader.
#include "bench_common.hpp"
#include "libipc/protocols/loader.hpp"
#include "user/runtime/herald.hpp"

namespace {
constexpr uint64_t kMaxCount = 1000;
constexpr uint64_t kOutstanding = 32;
constexpr uint64_t kSmallestChild = 1 << 16; // tests/bench/bench_runner.cpp figure_spawn_clients
ipc::Handle g_running[kOutstanding];

// Waits for the program in slot `slot`; whether it ended well.
bool reap(uint64_t slot)
{
    if (g_running[slot] == herald::abi::HandleNone)
        return true;
    auto status = ipc::loader::wait(g_running[slot]);
    (void)ipc::sys::handle_close(g_running[slot]);
    g_running[slot] = herald::abi::HandleNone;
    return !status.is_error() && status.value().state == herald::abi::TaskState::Exited && status.value().exit_status == 0;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t count = parameter & 0xFFFF;
    if (count > kMaxCount)
        count = kMaxCount;
    const char* child = parameter & kSmallestChild ? "exit_at_once" : "bench_storm_child";
    ipc::Handle loader = herald::user::find_server("loader");
    if (loader == herald::abi::HandleNone)
        return -1;
    int64_t failures = 0;
    bench::window_begin();
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t slot = i % kOutstanding;
        failures += !reap(slot);
        auto started = ipc::loader::spawn(herald::user::ipc(), loader, child, i);
        if (started.is_error())
            ++failures;
        else
            g_running[slot] = started.value().task;
    }
    for (uint64_t slot = 0; slot < kOutstanding; ++slot)
        failures += !reap(slot);
    bench::window_end(count);
    // Negative for spawn_clients, whose runner checks only that a status is
    // not negative (run_together).
    return parameter & kSmallestChild ? -failures : failures;
}
