// bench_syscall: the cost of a system call that does nothing (SYSCALL into
// the kernel, dispatch, SYSRET back), in cycles per call.
#include "../runtime/syscall.hpp"
#include "bench_common.hpp"

using namespace herald::user;

namespace {
constexpr int kRounds = 201;
constexpr int kCallsPerRound = 100;
uint64_t g_samples[kRounds];
}

extern "C" int64_t herald_main(uint64_t)
{
    bench::window_begin();
    for (int round = 0; round < kRounds; ++round) {
        uint64_t start = bench::cycles();
        for (int i = 0; i < kCallsPerRound; ++i)
            syscall0(number_of(herald::abi::SyscallNumber::Null));
        g_samples[round] = (bench::cycles() - start) / kCallsPerRound;
    }
    bench::window_end(kRounds * kCallsPerRound);
    return bench::median_and_minimum(g_samples, kRounds);
}
