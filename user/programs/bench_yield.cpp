// bench_yield: two copies on one CPU hand it back and forth with yield().
// Each yield is one switch between two address spaces (system call,
// scheduler, context switch, CR3 switch, FPU state, SYSRET). Copy 0 (the
// parameter) measures and reports cycles per yield; copy 1 only yields.
#include "../runtime/syscall.hpp"
#include "bench_common.hpp"

using namespace herald::user;

namespace {
constexpr int kRounds = 101;
constexpr int kYieldsPerRound = 50;
uint64_t g_samples[kRounds];
}

extern "C" int64_t herald_main(uint64_t role)
{
    if (role != 0) {
        for (int i = 0; i < kRounds * kYieldsPerRound + 100; ++i)
            yield();
        return 0;
    }
    for (int i = 0; i < 10; ++i)
        yield(); // let the partner start
    bench::window_begin();
    for (int round = 0; round < kRounds; ++round) {
        uint64_t start = bench::cycles();
        for (int i = 0; i < kYieldsPerRound; ++i)
            yield();
        // Each of our yields is followed by one of the partner's: two switches.
        g_samples[round] = (bench::cycles() - start) / (2 * kYieldsPerRound);
    }
    bench::window_end(2 * kRounds * kYieldsPerRound); // the partner's yields too
    return bench::median_and_minimum(g_samples, kRounds);
}
