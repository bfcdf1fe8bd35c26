// Shared by the benchmark programs: the cycle counter and how results go back.
//
// A benchmark program measures `rounds` batches, and exits with
// (median << 32) | minimum of the per-operation cycle counts, which the
// kernel's benchmark runner (tests/bench) prints as one "bench:" line. Both
// figures fit in 32 bits for anything that is not broken.
#pragma once

#include <stdint.h>

namespace bench {

inline uint64_t cycles()
{
    uint32_t low, high;
    asm volatile("lfence; rdtsc" : "=a"(low), "=d"(high) : : "memory");
    return (static_cast<uint64_t>(high) << 32) | low;
}

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
