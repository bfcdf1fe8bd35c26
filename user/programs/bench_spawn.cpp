// bench_spawn: spawn-to-exit latency of the smallest program (exit_at_once)
// through the loader: from the Spawn request until TaskWait returns its
// status (loader, memory server and kernel all take part). 21 runs; exits
// with (median << 32) | minimum cycles, or -1 if there is no loader.
#include "bench_common.hpp"
#include "libipc/protocols/loader.hpp"
#include "user/runtime/herald.hpp"

namespace {
constexpr int kRuns = 21;
uint64_t g_samples[kRuns];
}

extern "C" int64_t herald_main(uint64_t)
{
    ipc::Handle loader = herald::user::find_server("loader");
    if (loader == herald::abi::HandleNone)
        return -1;
    bench::window_begin();
    for (int i = 0; i < kRuns; ++i) {
        uint64_t start = bench::cycles();
        auto started = ipc::loader::spawn(herald::user::ipc(), loader, "exit_at_once", 0);
        if (started.is_error())
            return -1;
        (void)ipc::loader::wait(started.value().task);
        g_samples[i] = bench::cycles() - start;
        (void)ipc::sys::handle_close(started.value().task);
    }
    bench::window_end(kRuns);
    return bench::median_and_minimum(g_samples, kRuns);
}
