// Shared by the benchmark programs: the clock, the probe, and how results
// go back to the runner (tests/bench/bench_runner.cpp).
//
// A benchmark program measures `rounds` batches, and exits with
// (median << 32) | minimum of the per-operation clock counts, which the
// runner prints as one "bench:" line. Both fit in 32 bits for anything
// that is not broken. Around the operations it measures, it marks the
// window (window_begin, window_end with the number of operations): the
// runner reads the kernel's event counters there (tests/bench/probe_protocol.hpp).
// A program started without the probe (by the shell, say) just gets an
// error from the marks, and goes on.
#pragma once

#include <stdint.h>

#include "libipc/syscalls.hpp"
#include "tests/bench/probe_protocol.hpp"

namespace bench {

// The guest's time-stamp counter: instructions under -icount shift=0,
// cycles (at the TSC's rate) under KVM, emulator latency under plain TCG.
inline uint64_t cycles()
{
    uint32_t low, high;
    asm volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return (static_cast<uint64_t>(high) << 32) | low;
}

inline void mark(uint32_t label, uint64_t operations)
{
    ipc::sys::Registers registers {};
    registers.rdi = herald::bench::kProbeHandle;
    registers.rsi = herald::abi::MessageInfo { label, 0, false }.encode();
    registers.words[0] = operations;
    (void)ipc::sys::message_syscall(herald::abi::SyscallNumber::IpcCall, registers);
}

// Waits until every program taking part in the figure has begun.
inline void window_begin() { mark(herald::bench::kProbeBegin, 0); }
inline void window_end(uint64_t operations) { mark(herald::bench::kProbeEnd, operations); }

// Sorts in place (insertion sort: a few hundred samples) and packs the result.
inline int64_t median_and_minimum(uint64_t* samples, int count)
{
    for (int i = 1; i < count; ++i) {
        uint64_t value = samples[i];
        int j = i - 1;
        while (j >= 0 && samples[j] > value) {
            samples[j + 1] = samples[j];
            --j;
        }
        samples[j + 1] = value;
    }
    uint64_t median = samples[count / 2] & 0xFFFF'FFFF;
    uint64_t minimum = samples[0] & 0xFFFF'FFFF;
    return static_cast<int64_t>((median << 32) | minimum);
}

} // namespace bench
